"""Which of its notebook's "What you will learn" goals (numbered from 1, in the list's order) each exercise
practises, by the name of the exercise's checker. tools/course_plan.py builds the instructor's plan from it;
tests/course/test_course_plan.py checks that every exercise is here and every number is one of its notebook's goals."""

PRACTISES = {
    "00_tools": {
        "check_true_class_nll": (4,),  # integer-array indexing, one entry per row
        "check_normalise_rows": (3, 5),  # silent broadcasting; reductions with keepdims
        "check_train_steps": (7, 8),  # autograd and .grad; a training step by hand
    },
    "01_softmax": {
        "check_softmax_rows": (1, 5, 6),  # softmax itself, batch axis, max subtraction
        "check_temperature": (2,),  # temperature sharpens or flattens softmax
        "check_logits_from_probs": (2, 4),  # shift invariance; logit as log-probability
    },
    "02_cross_entropy": {
        "check_cross_entropy_onehot": (1,),  # the definition −Σ y log p
        "check_cross_entropy_from_logits": (5,),  # CrossEntropyLoss = LogSoftmax + NLLLoss
        "check_true_class_probability": (1, 4),  # −log p_true; reading the loss number
    },
    "03_batching": {
        "check_batch_cross_entropy": (3,),  # reduction 'none', 'sum', 'mean'
        "check_accuracy": (4,),  # accuracy from logits
        "check_combine_means": (5,),  # mean over micro-batches of different sizes
    },
    "04_binary_vs_multiclass": {
        "check_bce_with_logits": (2,),  # softplus form instead of sigmoid + BCELoss
        "check_loss_choice": (7,),  # loss for binary, multiclass, multi-label
        "check_sigmoid_logit": (3,),  # two-class softmax is sigmoid of difference
    },
    "05_numerical_stability": {
        "check_logsumexp_rows": (2,),  # max subtraction and the log-sum-exp identity
        "check_log_softmax_rows": (4,),  # log_softmax, not log(softmax)
        "check_overflow_threshold": (1,),  # where exp overflows in float32
    },
    "06_gradients": {
        "check_softmax_jacobian": (1,),  # softmax Jacobian diag(p) − p pᵀ
        "check_cross_entropy_grad": (2,),  # cross-entropy gradient (P − Y)/N
        "check_bce_grad": (5,),  # BCEWithLogitsLoss gradient σ(z) − y
        "check_two_layer_backward": (2, 3),  # p − q for soft targets; manual backprop
    },
    "07_loss_options": {
        "check_weighted_mean": (1,),  # weight and the weighted mean
        "check_smooth_targets": (2,),  # label_smoothing's exact formula
        "check_pos_weight": (4,),  # pos_weight for class imbalance
    },
    "08_training_a_classifier": {
        "check_sgd_step": (1,),  # softmax regression with hand-written SGD
        "check_ece": (5,),  # expected calibration error
        "check_best_temperature": (5,),  # temperature scaling by the NLL
    },
    "09_large_vocabulary": {
        "check_merge_stats": (2,),  # merging online-softmax block summaries, masked guard
        "check_chunk_rows": (1,),  # the arithmetic of logits' memory
    },
    "10_trap_gallery": {
        "check_safe_mean_loss": (3,),  # ignore_index changes the logged number
        "check_onehot_to_indices": (2,),  # which target form the loss expects
        "check_prior_loss": (5,),  # the loss at initialisation
        "check_smoothing_conversion": (3,),  # label_smoothing conventions change the number
    },
    "11_vocab_parallel": {
        "check_combine_stats": (2,),  # three all-reduces merge the ranks' statistics into the loss
        "check_owner": (1, 3),  # what each rank holds; where the gradient's −1 goes
        "check_bytes_per_step": (6,),  # ring all-reduce against gathering the logits
    },
    "12_modern_losses": {
        "check_z_loss": (1,),  # the z-loss on a stable log-sum-exp
        "check_soft_cap": (2,),  # soft-capping, not clipping
        "check_distillation": (3,),  # T² · KL and F.kl_div's conventions
        "check_clip_loss": (4,),  # cross-entropy over the batch, both ways
        "check_focal_loss": (5,),  # the focal factor on a stable log p_t
        "check_sampled_softmax": (6,),  # the log-Q correction
        "check_sparsemax": (7,),  # sparsemax's closed form
        "check_kept_classes": (8,),  # which classes gradient filtering skips
    },
}
