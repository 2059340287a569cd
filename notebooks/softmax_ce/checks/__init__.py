"""Exercise checkers, one module per notebook (nb00_tools.py ... nb12_modern_losses.py) on one shared harness
(_harness.py). Each checker prints "Correct!" or exactly what is wrong, returns True/False, and never crashes.

A checker calls the learner's function on fixed inputs (several cases: N != C, N = 1, wide rows, ±1000, float32),
compares with the tested library (``softmax_ce.functional``, ``gradients``, ``metrics``, ``large_vocab``,
``parallel``, ``modern``, ``sparse``, ``sampled``) and, when the answer is wrong, looks for the usual mistake (wrong
axis, overflow, a missing minus sign...) so the message says what to fix. Exercises use ``passed = check_x(my_fn)``;
solutions ``assert check_x(...)``. Import them from here:
``from softmax_ce.checks import check_x`` works for every notebook.
"""

from ._harness import NOT_DONE
from .nb00_tools import check_normalise_rows, check_train_steps, check_true_class_nll
from .nb01_softmax import check_logits_from_probs, check_softmax_rows, check_temperature
from .nb02_cross_entropy import check_cross_entropy_from_logits, check_cross_entropy_onehot, check_true_class_probability
from .nb03_batching import check_accuracy, check_batch_cross_entropy, check_combine_means
from .nb04_binary_vs_multiclass import LOSS_TASKS, check_bce_with_logits, check_loss_choice, check_sigmoid_logit
from .nb05_numerical_stability import check_log_softmax_rows, check_logsumexp_rows, check_overflow_threshold
from .nb06_gradients import check_bce_grad, check_cross_entropy_grad, check_softmax_jacobian, check_two_layer_backward
from .nb07_loss_options import check_pos_weight, check_smooth_targets, check_weighted_mean
from .nb08_training_a_classifier import check_best_temperature, check_ece, check_sgd_step
from .nb09_large_vocabulary import check_chunk_rows, check_merge_stats
from .nb10_trap_gallery import check_onehot_to_indices, check_prior_loss, check_safe_mean_loss, check_smoothing_conversion
from .nb11_vocab_parallel import check_bytes_per_step, check_combine_stats, check_owner
from .nb12_modern_losses import (
    check_clip_loss,
    check_distillation,
    check_focal_loss,
    check_kept_classes,
    check_sampled_softmax,
    check_soft_cap,
    check_sparsemax,
    check_z_loss,
)

__all__ = [
    "NOT_DONE",
    "check_true_class_nll",
    "check_normalise_rows",
    "check_train_steps",
    "check_softmax_rows",
    "check_temperature",
    "check_logits_from_probs",
    "check_cross_entropy_onehot",
    "check_cross_entropy_from_logits",
    "check_true_class_probability",
    "check_batch_cross_entropy",
    "check_accuracy",
    "check_combine_means",
    "check_bce_with_logits",
    "check_loss_choice",
    "check_sigmoid_logit",
    "LOSS_TASKS",
    "check_logsumexp_rows",
    "check_log_softmax_rows",
    "check_overflow_threshold",
    "check_softmax_jacobian",
    "check_cross_entropy_grad",
    "check_bce_grad",
    "check_two_layer_backward",
    "check_weighted_mean",
    "check_smooth_targets",
    "check_pos_weight",
    "check_sgd_step",
    "check_ece",
    "check_best_temperature",
    "check_merge_stats",
    "check_chunk_rows",
    "check_safe_mean_loss",
    "check_onehot_to_indices",
    "check_prior_loss",
    "check_smoothing_conversion",
    "check_combine_stats",
    "check_owner",
    "check_bytes_per_step",
    "check_z_loss",
    "check_soft_cap",
    "check_distillation",
    "check_clip_loss",
    "check_focal_loss",
    "check_sampled_softmax",
    "check_sparsemax",
    "check_kept_classes",
]
