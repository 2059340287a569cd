"""The exercise checkers: right answers pass, each usual mistake gets its own hint, nothing crashes."""

import collections
import contextlib
import math
import re
import warnings

import numpy as np
import pytest
import torch

from softmax_ce import checks, metrics
from softmax_ce import functional as npF
from softmax_ce import gradients as G


def naive_rows(x):
    return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)


def unfinished(*args):
    raise NotImplementedError


def broken(*args):
    return {}["oops"]


RIGHT = [
    (checks.check_softmax_rows, lambda x: npF.softmax(x, dim=-1)),
    (checks.check_temperature, lambda z, T: npF.softmax(z / T, dim=-1)),
    (checks.check_logits_from_probs, lambda p: np.log(p) + 7.0),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(-np.sum(y * np.log(p), axis=1))),
    (checks.check_cross_entropy_from_logits, lambda z, y: npF.logsumexp(z, dim=0) - z[y]),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction=r)),
    (checks.check_accuracy, lambda x, t: np.mean(x.argmax(axis=1) == t)),
    (checks.check_combine_means, lambda m, n: (m * n).sum() / n.sum()),
    (checks.check_bce_with_logits, lambda x, y: np.mean((1 - y) * x + np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))),
    (checks.check_sigmoid_logit, lambda z: z[:, 1] - z[:, 0]),
]

WRONG = [
    (checks.check_softmax_rows, lambda x: np.exp(x) / np.exp(x).sum(axis=0), "axis=0"),
    (checks.check_softmax_rows, naive_rows, "overflows"),
    (checks.check_softmax_rows, lambda x: np.exp(x) / np.exp(x).sum(), "rows should sum to 1"),
    (checks.check_softmax_rows, lambda x: npF.softmax(x[:1], dim=-1), "shape"),
    (checks.check_softmax_rows, lambda x: npF.softmax(2 * x, dim=-1), "values differ"),
    (checks.check_temperature, lambda z, T: npF.softmax(z * T, dim=-1), "z / T"),
    (checks.check_temperature, lambda z, T: npF.softmax(z, dim=-1), "as if T were 1"),
    (checks.check_logits_from_probs, lambda p: p, "probabilities themselves"),
    (checks.check_logits_from_probs, lambda p: np.log10(p), "another base"),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(np.sum(y * np.log(p), axis=1)), "sign"),
    (checks.check_cross_entropy_onehot, lambda y, p: -np.sum(y * np.log(p)), "summed over the batch"),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(-np.sum(y * np.log10(p), axis=1)), "log10"),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(-np.log(p.max(axis=1))), "expected"),
    (checks.check_cross_entropy_onehot, lambda y, p: -np.sum(y * np.log(p), axis=1), "per-sample losses"),
    (checks.check_cross_entropy_from_logits, lambda z, y: -np.log(np.exp(z[y]) / np.exp(z).sum()), "overflows"),
    (checks.check_cross_entropy_from_logits, lambda z, y: z[y] - npF.logsumexp(z, dim=0), "sign"),
    (checks.check_cross_entropy_from_logits, lambda z, y: -np.log(npF.softmax(z, dim=0)[y]), "log space"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="sum" if r == "mean" else r), "divide by the batch size"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="mean" if r == "sum" else r), "add the per-sample"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="mean"), "reduction='none'"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction=r) if np.abs(x).max() < 100
     else np.full(() if r != "none" else len(t), np.nan), "stable log-softmax"),
    (checks.check_accuracy, lambda x, t: np.sum(x.argmax(axis=1) == t), "fraction"),
    (checks.check_accuracy, lambda x, t: np.mean(x.argmax(axis=0) == t), "raised ValueError"),
    (checks.check_combine_means, lambda m, n: m.mean(), "mean of the means"),
    (checks.check_bce_with_logits, lambda x, y: np.mean(-(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x))))), "±1000"),
    (checks.check_bce_with_logits, lambda x, y: npF.binary_cross_entropy(npF.sigmoid(x), y), "clamped"),
    (checks.check_sigmoid_logit, lambda z: z[:, 0] - z[:, 1], "sign"),
    (checks.check_sigmoid_logit, lambda z: z[:, 1], "does not equal"),
]


def in_place_softmax(x):
    x -= x.max(axis=1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=1, keepdims=True)
    return x


def test_an_in_place_answer_is_accepted_and_cannot_corrupt_the_checker(capsys):
    assert checks.check_softmax_rows(in_place_softmax) is True
    assert checks.check_softmax_rows(lambda x: npF.softmax(x, dim=-1)) is True


@pytest.mark.parametrize("answer, ok, hint", [
    (math.exp(-1), True, "Correct"), (0.3679, True, "Correct"), (0.1, False, "log10"),
    (1.5, False, "not a probability"), (0.5, False, "not 1.0"), ("e", False, "expected a number"), (None, False, "replace None"),
])
def test_check_true_class_probability(answer, ok, hint, capsys):
    assert checks.check_true_class_probability(answer) is ok
    assert hint in capsys.readouterr().out


RIGHT_CHOICE = {"spam or not spam": "BCEWithLogitsLoss", "which of 10 digits": "nn.CrossEntropyLoss",
                "which of 20 tags a photo has (any number of them)": "BCEWithLogitsLoss"}


@pytest.mark.parametrize("answers, ok, hint", [
    (RIGHT_CHOICE, True, "Correct"),
    ({k: f"torch.nn.{v.split('.')[-1]}()" for k, v in RIGHT_CHOICE.items()}, True, "Correct"),
    ({**RIGHT_CHOICE, "spam or not spam": "CrossEntropyLoss"}, True, "two logits"),
    ({**RIGHT_CHOICE, "spam or not spam": "BCELoss"}, False, "takes logits"),
    ({**RIGHT_CHOICE, "which of 20 tags a photo has (any number of them)": "CrossEntropyLoss"}, False, "how many labels"),
    ({"spam or not spam": "BCEWithLogitsLoss"}, False, "no answer for"),
    (["BCEWithLogitsLoss"], False, "expected a dict"),
])
def test_check_loss_choice(answers, ok, hint, capsys):
    assert set(checks.LOSS_TASKS) == set(RIGHT_CHOICE)
    assert checks.check_loss_choice(answers) is ok
    assert hint in capsys.readouterr().out


def naive_lse(x):
    return np.log(np.exp(x).sum(axis=1))


STABILITY_RIGHT = [
    (checks.check_logsumexp_rows, lambda x: npF.logsumexp(x, dim=1)),
    (checks.check_log_softmax_rows, lambda x: npF.log_softmax(x, dim=1)),
    (checks.check_log_softmax_rows, lambda x: npF.log_softmax(x.astype(np.float32), dim=1)),  # float32 work is fine
]
STABILITY_WRONG = [
    (checks.check_logsumexp_rows, naive_lse, "overflows"),
    (checks.check_logsumexp_rows, lambda x: np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)), "add it back"),
    (checks.check_logsumexp_rows, lambda x: npF.logsumexp(x, dim=1, keepdim=True), "one value per row"),
    (checks.check_logsumexp_rows, lambda x: npF.logsumexp(x, dim=1) + 1, "largest difference"),
    (checks.check_logsumexp_rows, lambda x: np.log(np.exp(x - x.max()).sum(axis=1)) + x.max(), "one max for the whole array"),
    (checks.check_log_softmax_rows, lambda x: np.log(npF.softmax(x, dim=1)), "log(softmax)"),
    (checks.check_log_softmax_rows, lambda x: x - x.max(axis=1, keepdims=True), "only the first step"),
    (checks.check_log_softmax_rows, lambda x: x - x.mean(axis=1, keepdims=True) - np.log(np.exp(x - x.mean(axis=1, keepdims=True)).sum(axis=1, keepdims=True)), "inf/nan"),
    (checks.check_logsumexp_rows, lambda x: x.mean(axis=1) + np.log(np.exp(x - x.mean(axis=1, keepdims=True)).sum(axis=1)), "wide row"),
]


@pytest.mark.parametrize("answer, ok, hint", [
    (float(np.log(np.finfo(np.float32).max)), True, "Correct"), (88.72, True, "Correct"),
    (709.78, False, "float64"), (11.09, False, "float16"), (3.4028235e38, False, "largest float32"),
    (80.0, False, "higher"), (90.0, False, "lower"), (None, False, "replace None"), ("x", False, "expected a number"),
])
def test_check_overflow_threshold(answer, ok, hint, capsys):
    assert checks.check_overflow_threshold(answer) is ok
    assert hint in capsys.readouterr().out


GRADIENT_RIGHT = [
    (checks.check_softmax_jacobian, lambda z: G.softmax_jacobian(z)),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z, t)),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z.astype(np.float32), t)),  # float32 work is fine
    (checks.check_bce_grad, lambda x, y: G.binary_cross_entropy_with_logits_grad(x, y)),
    (checks.check_two_layer_backward, lambda *args: two_layer_loop(*args)),
]
GRADIENT_WRONG = [
    (checks.check_softmax_jacobian, lambda z: -G.softmax_jacobian(z), "sign"),
    (checks.check_softmax_jacobian, lambda z: np.diag(npF.softmax(z, dim=0)), "only the diagonal"),
    (checks.check_softmax_jacobian, lambda z: np.diag(npF.softmax(z, dim=0) * (1 - npF.softmax(z, dim=0))), "off-diagonal"),
    (checks.check_softmax_jacobian, lambda z: npF.softmax(z, dim=0), "C × C"),
    (checks.check_softmax_jacobian, lambda z: np.outer(z, z), "expected"),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z, t, reduction="sum"), "divides it by N"),
    (checks.check_cross_entropy_grad, lambda z, t: -G.cross_entropy_grad(z, t), "sign"),
    (checks.check_cross_entropy_grad, lambda z, t: (z - np.eye(3)[t]) / len(t), "probabilities"),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z, t)[0], "one gradient row per sample"),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z, t) * 2, "largest difference"),
    (checks.check_cross_entropy_grad, lambda z, t: G.cross_entropy_grad(z, t) * (1 + 1e-4), "float32 rounding"),
    (checks.check_bce_grad, lambda x, y: npF.sigmoid(x) - y, "gradient of the sum"),
    (checks.check_bce_grad, lambda x, y: (y - npF.sigmoid(x)) / x.size, "sign"),
    (checks.check_bce_grad, lambda x, y: (npF.sigmoid(x) - y) / len(x), "all elements"),
    (checks.check_bce_grad, lambda x, y: x * 0, "expected"),
]


OPTIONS_RIGHT = [
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t, weight=w)),
    (checks.check_smooth_targets, lambda t, c, eps: (1 - eps) * np.eye(c)[t] + eps / c),
    (checks.check_pos_weight, lambda Y: (len(Y) - Y.sum(axis=0)) / Y.sum(axis=0)),
]
OPTIONS_WRONG = [
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t, weight=w, reduction="none").mean(), "divided by N"),
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t, weight=w, reduction="sum"), "that is the sum"),
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t), "weights are not used"),
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t, weight=w) + 1, "expected"),
    (checks.check_weighted_mean, lambda z, t, w: npF.cross_entropy(z, t, weight=w, reduction="none"), "one number"),
    (checks.check_smooth_targets, lambda t, c, eps: (1 - eps) * np.eye(c)[t] + eps / (c - 1) * (1 - np.eye(c)[t]), "C − 1"),
    (checks.check_smooth_targets, lambda t, c, eps: np.eye(c)[t] + eps / c, "sum to 1"),
    (checks.check_smooth_targets, lambda t, c, eps: (1 - eps) * np.eye(c)[t], "uniform part"),
    (checks.check_smooth_targets, lambda t, c, eps: np.eye(c)[t], "expected"),
    (checks.check_smooth_targets, lambda t, c, eps: t, "(N, C)"),
    (checks.check_smooth_targets, lambda t, c, eps: ((1 - eps) * np.eye(c)[t] + eps / c).T, "transposed"),
    (checks.check_pos_weight, lambda Y: Y.sum(axis=0) / (len(Y) - Y.sum(axis=0)), "inverted"),
    (checks.check_pos_weight, lambda Y: len(Y) / Y.sum(axis=0), "N / #positives"),
    (checks.check_pos_weight, lambda Y: Y.sum(axis=0), "counts"),
    (checks.check_pos_weight, lambda Y: Y.mean(axis=1), "one value per label"),
    (checks.check_pos_weight, lambda Y: np.ones(3), "expected"),
]


def sgd(W, b, X, y, lr, sign=1.0, scale=None, move_b=True):
    dZ = (npF.softmax(X @ W.T + b, dim=1) - np.eye(W.shape[0])[y]) / (len(y) if scale is None else scale)
    return W - sign * lr * dZ.T @ X, (b - sign * lr * dZ.sum(axis=0)) if move_b else b


def sgd_max_class(W, b, X, y, lr):  # one-hot with np.eye(y.max() + 1): breaks when a batch lacks the last class
    dZ = (npF.softmax(X @ W.T + b, dim=1) - np.eye(y.max() + 1)[y]) / len(y)
    return W - lr * dZ.T @ X, b - lr * dZ.sum(axis=0)


TRAINING_RIGHT = [
    (checks.check_sgd_step, sgd),
    (checks.check_ece, lambda c, k, n: metrics.expected_calibration_error(c, k, n)),
]
TRAINING_WRONG = [
    (checks.check_sgd_step, lambda W, b, X, y, lr: sgd(W, b, X, y, lr, sign=-1.0), "up the gradient"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: sgd(W, b, X, y, lr, scale=1), "summed loss"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: sgd(W, b, X, y, lr, move_b=False), "b did not move"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: (W, b), "new_W is off"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: (sgd(W, b, X, y, lr)[0], b + 1), "new_b is off"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: sgd(W, b, X, y, lr)[0], "pair"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: (W.T, b), "must keep shape"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: ("a", b), "arrays of numbers"),
    (checks.check_sgd_step, lambda W, b, X, y, lr: sgd_max_class(W, b, X, y, lr), "raised ValueError"),
    (checks.check_ece, lambda c, k, n: np.nanmean(np.abs(metrics.reliability_bins(c, k, n)[2] - metrics.reliability_bins(c, k, n)[1])),
     "averaged the bins equally"),
    (checks.check_ece, lambda c, k, n: abs(k.mean() - c.mean()), "bin by bin"),
    (checks.check_ece, lambda c, k, n: 0.5, "expected"),
    (checks.check_ece, lambda c, k, n: metrics.expected_calibration_error(c, k, 10), "use the n_bins argument"),
    (checks.check_ece, lambda c, k, n: metrics.expected_calibration_error(c[c < 1], k[c < 1], n), "exactly 1.0"),
    (checks.check_ece, lambda c, k, n: c, "one number"),
]


def merge_right(m1, s1, m2, s2):
    m = max(m1, m2)
    return (m, 0.0) if m == -np.inf else (m, s1 * np.exp(m1 - m) + s2 * np.exp(m2 - m))


LARGE_VOCAB_RIGHT = [
    (checks.check_merge_stats, merge_right),
    (checks.check_chunk_rows, lambda v, b, mb: max(1, int(mb * 2**20 // (v * b)))),
]
LARGE_VOCAB_WRONG = [
    (checks.check_merge_stats, lambda m1, s1, m2, s2: (max(m1, m2), s1 + s2), "rescale"),
    (checks.check_merge_stats, lambda m1, s1, m2, s2: (max(m1, m2), s1 * np.exp(m1 - max(m1, m2)) + s2 * np.exp(m2 - max(m1, m2))), "empty block"),
    (checks.check_merge_stats, lambda m1, s1, m2, s2: (min(m1, m2), s1 + s2), "merged max"),
    (checks.check_merge_stats, lambda m1, s1, m2, s2: merge_right(m1, s1, m2, s2)[1], "pair"),
    (checks.check_merge_stats, lambda m1, s1, m2, s2: (merge_right(m1, s1, m2, s2)[0], 2 * merge_right(m1, s1, m2, s2)[1] + 1), "expected s"),
    (checks.check_chunk_rows, lambda v, b, mb: mb * 10**6 // (v * b), "2**20"),
    (checks.check_chunk_rows, lambda v, b, mb: mb * 2**20 / (v * b), "round down"),
    (checks.check_chunk_rows, lambda v, b, mb: mb * 2**20 // (v * b) + 1, "do not fit"),
    (checks.check_chunk_rows, lambda v, b, mb: mb * 2**20 // (v * b), "at least 1 row"),
    (checks.check_chunk_rows, lambda v, b, mb: 7, "expected"),
    (checks.check_chunk_rows, lambda v, b, mb: "many", "whole number"),
    (checks.check_chunk_rows, lambda v, b, mb: float("inf"), "whole number"),
]


def safe_mean(z, t):
    return npF.cross_entropy(z, t, reduction="sum") / max(int(np.sum(t != -100)), 1)


def frequencies_entropy(counts):
    f = counts[counts > 0] / counts.sum()
    return -(f * np.log(f)).sum()


def frequencies_entropy_float32(counts):
    f = torch.tensor(counts[counts > 0] / counts.sum(), dtype=torch.float32)
    return -(f * f.log()).sum()


TRAPS_RIGHT = [
    (checks.check_safe_mean_loss, safe_mean),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1)),
    (checks.check_onehot_to_indices, lambda Y: torch.tensor(Y).argmax(dim=1)),  # a torch answer works too
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1).astype(np.uint8)),  # cross_entropy takes Byte targets too
    (checks.check_prior_loss, frequencies_entropy),
    (checks.check_prior_loss, frequencies_entropy_float32),  # float32 rounding is not a mistake
    (checks.check_prior_loss, lambda n: np.float32(frequencies_entropy(n))),
    (checks.check_smoothing_conversion, lambda eps, c: eps * c / (c - 1)),
    (checks.check_smoothing_conversion, lambda eps, c: torch.tensor(eps * c / (c - 1))),  # a float32 tensor
    (checks.check_smoothing_conversion, lambda eps, c: np.float32(eps * c / (c - 1))),
]
TRAPS_WRONG = [
    (checks.check_safe_mean_loss, lambda z, t: npF.cross_entropy(z, t), "return nan"),
    (checks.check_safe_mean_loss, lambda z, t: npF.cross_entropy(z, t, reduction="none").mean(), "counting the ignored"),
    (checks.check_safe_mean_loss, lambda z, t: npF.cross_entropy(z, t, reduction="sum"), "that is the sum"),
    (checks.check_safe_mean_loss, lambda z, t: 0.0 if np.all(t == -100) else npF.cross_entropy(z, t) + 1, "expected"),
    (checks.check_safe_mean_loss, lambda z, t: 1.0 if np.all(t == -100) else npF.cross_entropy(z, t), "should be 0.0"),
    (checks.check_safe_mean_loss, lambda z, t: npF.cross_entropy(z, t, reduction="none"), "one number"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=0), "axis=1"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1).astype(float), "must be integers"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1).astype(np.int32), "accepts only Long or Byte"),
    (checks.check_onehot_to_indices, lambda Y: torch.tensor(Y).argmax(dim=1).int(), "use int64 (torch.long)"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1).astype(np.int16), "accepts only Long or Byte"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1, keepdims=True), ".squeeze(1)"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1, keepdims=True), "trap 7"),
    (checks.check_onehot_to_indices, lambda Y: Y, "one-hot rows themselves"),
    (checks.check_onehot_to_indices, lambda Y: np.nonzero(Y == 1)[1], "largest entry"),
    (checks.check_onehot_to_indices, lambda Y: (Y == 1).argmax(axis=1), "largest entry"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmin(axis=1), "expected"),
    (checks.check_onehot_to_indices, lambda Y: Y.argmax(axis=1)[:2], "shape"),
    (checks.check_prior_loss, lambda n: np.log(len(n)), "uniform prediction"),
    (checks.check_prior_loss, lambda n: -(n / n.sum() * np.log(n / n.sum())).sum(), "count 0"),
    (checks.check_prior_loss, lambda n: -frequencies_entropy(n), "sign"),
    (checks.check_prior_loss, lambda n: frequencies_entropy(n) / np.log(2), "natural log"),
    (checks.check_prior_loss, lambda n: -(n[n > 0] * np.log(n[n > 0])).sum(), "frequencies first"),
    (checks.check_prior_loss, lambda n: frequencies_entropy(n) + 1, "expected"),
    (checks.check_prior_loss, lambda n: frequencies_entropy(n) * (1 + 2e-5), "float32 rounding?"),  # a near miss
    (checks.check_smoothing_conversion, lambda eps, c: eps, "different values"),
    (checks.check_smoothing_conversion, lambda eps, c: eps * (c - 1) / c, "inverted"),
    (checks.check_smoothing_conversion, lambda eps, c: eps / (c - 1), "off-target probability"),
    (checks.check_smoothing_conversion, lambda eps, c: 0.5, "expected"),
    (checks.check_smoothing_conversion, lambda eps, c: np.float16(eps * c / (c - 1)), "float32 rounding?"),
]


FUNCTION_CHECKERS = list(dict.fromkeys(c for c, _ in RIGHT + STABILITY_RIGHT + GRADIENT_RIGHT + OPTIONS_RIGHT + TRAINING_RIGHT + LARGE_VOCAB_RIGHT
                                        + TRAPS_RIGHT))
FUNCTION_CHECKERS += [checks.check_true_class_nll, checks.check_normalise_rows, checks.check_train_steps]  # notebook 00: corpus in LEARNERS
FUNCTION_CHECKERS += [checks.check_combine_stats, checks.check_owner, checks.check_bytes_per_step]  # notebook 11: corpus in LEARNERS
FUNCTION_CHECKERS += [checks.check_z_loss, checks.check_soft_cap, checks.check_distillation, checks.check_clip_loss,  # notebook 12:
                      checks.check_focal_loss, checks.check_sampled_softmax, checks.check_sparsemax, checks.check_kept_classes]  # LEARNERS


def test_every_function_checker_is_tested():
    documented = {name for name in dir(checks) if name.startswith("check_")}
    value_checkers = {"check_true_class_probability", "check_loss_choice", "check_overflow_threshold", "check_best_temperature"}
    untested = sorted(documented - {c.__name__ for c in FUNCTION_CHECKERS} - value_checkers)
    assert not untested, (f"{untested}: add each checker of a function to FUNCTION_CHECKERS in this file (its corpus goes "
                          "in LEARNERS), or, if it checks a value rather than a function, to value_checkers above")
    gone = sorted(({c.__name__ for c in FUNCTION_CHECKERS} | value_checkers) - documented)
    assert not gone, f"{gone} are listed here but softmax_ce.checks no longer exports them: remove them here"


@pytest.mark.parametrize("checker", FUNCTION_CHECKERS, ids=[c.__name__ for c in FUNCTION_CHECKERS])
@pytest.mark.parametrize("attempt, hint", [(unfinished, "NotImplementedError"), (broken, "raised KeyError"),
                                           (lambda *a: None, "returned None"), (lambda *a: "x", "not numbers"),
                                           (42, "expected a function")])
def test_unfinished_or_broken_attempts_never_crash(checker, attempt, hint, capsys):
    assert checker(attempt) is False
    out = capsys.readouterr().out
    pair_checkers = (checks.check_sgd_step, checks.check_merge_stats)
    assert hint in out or (checker in pair_checkers and "pair" in out) or (checker is checks.check_chunk_rows and "whole number" in out), out


ALL_RIGHT = RIGHT + STABILITY_RIGHT + GRADIENT_RIGHT + OPTIONS_RIGHT + TRAINING_RIGHT + LARGE_VOCAB_RIGHT + TRAPS_RIGHT
ALL_WRONG = WRONG + STABILITY_WRONG + GRADIENT_WRONG + OPTIONS_WRONG + TRAINING_WRONG + LARGE_VOCAB_WRONG + TRAPS_WRONG


@pytest.mark.parametrize("checker, solution", ALL_RIGHT, ids=[c.__name__ for c, _ in ALL_RIGHT])
def test_right_answer_passes(checker, solution, capsys):
    assert checker(solution) is True
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("checker, solution, hint", ALL_WRONG, ids=[f"{c.__name__}-{h}" for c, _, h in ALL_WRONG])
def test_usual_mistake_gets_its_hint(checker, solution, hint, capsys):
    with np.errstate(all="ignore"):
        assert checker(solution) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet: ")
    assert hint in out, out


# ----------------------------------------------------------------------------- answers learners write (issue 15)
# References come from torch or from a plain loop over the definition, never from the checker's own formula.


def onehot_loop(y, p):
    """The definition, sample by sample: −Σ_c y_c log p_c, averaged over the N rows."""
    total = 0.0
    for row_y, row_p in zip(y, p):
        total += -sum(yc * math.log(pc) for yc, pc in zip(row_y, row_p))
    return total / len(y)


def onehot_torch(y, p):
    probs = torch.tensor(p, requires_grad=True)  # still requires grad when returned
    return torch.nn.functional.nll_loss(torch.log(probs), torch.tensor(y).argmax(dim=1))


ONEHOT_RIGHT = [onehot_loop, onehot_torch, lambda y, p: torch.tensor(onehot_loop(y, p)).reshape(()),
                lambda y, p: np.float32(onehot_loop(y.astype(np.float32), p.astype(np.float32)))]
ONEHOT_WRONG = [
    (lambda y, p: np.mean(-np.sum(y * np.log(p), axis=0)), "divided by the number of classes"),  # the wrong axis
    (lambda y, p: -np.sum(y * np.log(p)) / p.shape[1], "divided by the number of classes"),
    (lambda y, p: -np.mean(y * np.log(p)), "all N × C entries"),
    (lambda y, p: -np.sum(y * np.log(p), axis=0), "summed over axis=0"),
    (lambda y, p: np.mean(-np.sum(y * np.log2(p), axis=1)), "log2"),
    (lambda y, p: np.mean(np.sum(y * np.log(p), axis=1)), "sign is flipped"),
    (lambda y, p: -np.sum(y * np.log(p)), "summed over the batch"),
    (lambda y, p: np.mean(-np.sum((1 - y) * np.log(p), axis=1)), "expected"),
]


@pytest.mark.parametrize("answer", ONEHOT_RIGHT, ids=["loop", "torch-requires-grad", "0-d-tensor", "float32"])
def test_onehot_accepts_right_answers_written_differently(answer, capsys):
    assert checks.check_cross_entropy_onehot(answer) is True, capsys.readouterr().out


@pytest.mark.parametrize("answer, hint", ONEHOT_WRONG, ids=[h for _, h in ONEHOT_WRONG])
def test_onehot_rejects_what_learners_write_with_the_hint_that_names_it(answer, hint, capsys):
    assert checks.check_cross_entropy_onehot(answer) is False
    assert hint in capsys.readouterr().out


def test_onehot_batch_is_not_square():
    """With N = C the wrong axis gives the right number (issue 15): the checker's batch must have N != C."""
    seen = {}

    def spy(y, p):
        seen["shape"] = y.shape
        return onehot_loop(y, p)

    checks.check_cross_entropy_onehot(spy)
    n, c = seen["shape"]
    assert n != c


def sgd_torch(W, b, X, y, lr, in_place=False):
    """One step with autograd: what a learner who knows PyTorch writes; the results still require grad."""
    W_t, b_t = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.nn.functional.cross_entropy(torch.tensor(X) @ W_t.T + b_t, torch.tensor(y)).backward()
    if in_place:
        with torch.no_grad():
            W_t -= lr * W_t.grad
            b_t -= lr * b_t.grad
        return W_t, b_t
    return W_t - lr * W_t.grad, b_t - lr * b_t.grad


@pytest.mark.parametrize("in_place", [False, True], ids=["new-tensors", "in-place-leaves"])
def test_sgd_accepts_a_pytorch_answer_that_requires_grad(in_place, capsys):
    assert checks.check_sgd_step(lambda *a: sgd_torch(*a, in_place=in_place)) is True, capsys.readouterr().out


ODD_RETURNS = [(torch.ones(3, device="meta"), "cannot be read"), ("0", "string '0'"), ({}, "dict"), ([1.0, "a"], "string 'a'"), ([[1.0], [1.0, 2.0]], "not an array"),
               (None, "return"), ({1.0}, "set")]


@pytest.mark.parametrize("value, words", ODD_RETURNS, ids=[w for _, w in ODD_RETURNS])  # meta: no data, like a lost GPU
def test_any_return_value_gets_a_message_not_a_crash(value, words, capsys):
    for checker in (checks.check_softmax_rows, checks.check_cross_entropy_onehot):
        assert checker(lambda *args: value) is False
        assert words in capsys.readouterr().out


def test_a_number_given_as_a_string_is_not_a_number(capsys):
    assert checks.check_true_class_probability("0.3679") is False
    assert "expected a number, got str" in capsys.readouterr().out
    assert checks.check_true_class_probability(True) is False
    assert checks.check_true_class_probability(torch.tensor(math.exp(-1.0), requires_grad=True)) is True


# Notebooks 01 and 02: what learners write, right and wrong (references: torch, or a loop over the definition)


def softmax_loop(x):
    """The definition row by row, with each row's max subtracted (a plain loop, not the checker's formula)."""
    out = np.empty_like(np.asarray(x, dtype=np.float64))
    for i, row in enumerate(np.asarray(x, dtype=np.float64)):
        exps = [math.exp(v - max(row)) for v in row]
        out[i] = [e / sum(exps) for e in exps]
    return out


LEARNERS = {
    checks.check_softmax_rows: {
        "right": [softmax_loop, lambda x: torch.softmax(torch.tensor(x), dim=1),
                  lambda x: torch.softmax(torch.tensor(x, requires_grad=True), dim=-1),
                  lambda x: softmax_loop(x).tolist(), lambda x: softmax_loop(x.astype(np.float32)).astype(np.float32)],
        "wrong": [(lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(axis=1, keepdims=True), "one max for the whole batch"),
                  (lambda x: np.exp(x - x.max(axis=1)) / np.exp(x - x.max(axis=1)).sum(axis=1), "keepdims=True"),
                  (lambda x: np.exp(x - x.mean(axis=1, keepdims=True)) / np.exp(x - x.mean(axis=1, keepdims=True)).sum(axis=1, keepdims=True), "not enough"),
                  (lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True), "axis=0"),
                  (lambda x: x / x.sum(axis=1, keepdims=True), "values differ"),
                  (lambda x: np.exp(x - x.max(axis=1, keepdims=True)), "rows should sum to 1"),
                  (lambda x: torch.softmax(torch.tensor(x), dim=0), "axis=0")],
    },
    checks.check_temperature: {
        "right": [lambda z, T: softmax_loop(np.asarray(z)[None] / T)[0], lambda z, T: torch.softmax(torch.tensor(z) / T, dim=-1),
                  lambda z, T: npF.softmax(np.asarray(z, dtype=np.float32) / np.float32(T), dim=-1)],
        "wrong": [(lambda z, T: npF.softmax(z * T, dim=-1), "z / T"),
                  (lambda z, T: npF.softmax(z, dim=-1), "as if T were 1"),
                  (lambda z, T: npF.softmax(z, dim=-1) / T, "divided the probabilities by T"),
                  (lambda z, T: np.exp(z / T) / np.exp(z / T).sum(), "overflows"),
                  (lambda z, T: np.exp(z / T) / np.exp(z).sum(), "sum to"),
                  (lambda z, T: npF.softmax(z - T, dim=-1), "as if T were 1"),
                  (lambda z, T: npF.softmax(z, dim=-1) ** (1 / T), "sum to")],
    },
    checks.check_logits_from_probs: {
        "right": [np.log, lambda p: np.log(p) - np.log(p).max(), lambda p: torch.log(torch.tensor(p)), lambda p: [math.log(v) + 3 for v in p]],
        "wrong": [(lambda p: p, "probabilities themselves"), (np.exp, "you applied exp"), (lambda p: -np.log(p), "sign"),
                  (np.log10, "another base"), (np.log2, "another base"), (lambda p: 2 * np.log(p), "not p"),
                  (lambda p: np.log(p[:2]), "shape")],
    },
    checks.check_cross_entropy_from_logits: {
        "right": [lambda z, y: torch.nn.functional.cross_entropy(torch.tensor(z)[None], torch.tensor([y])),
                  lambda z, y: max(z) + math.log(sum(math.exp(v - max(z)) for v in z)) - z[y],
                  lambda z, y: -torch.log_softmax(torch.tensor(z, dtype=torch.float64), dim=0)[y]],
        "wrong": [(lambda z, y: -np.log(np.exp(z[y]) / np.exp(z).sum()), "overflows"),
                  (lambda z, y: z[y] - npF.logsumexp(z, dim=0), "sign"),
                  (lambda z, y: np.log(np.sum(np.exp(z - z.max()))) - z[y], "did not add it back"),
                  (lambda z, y: float(np.exp(z[y] - npF.logsumexp(z, dim=0))), "probability p_t"),
                  (lambda z, y: (npF.logsumexp(z, dim=0) - z[y]) / math.log(10), "log10 or log2"),
                  (lambda z, y: npF.logsumexp(z, dim=0) - z[y - 1], "expected"),
                  (lambda z, y: npF.logsumexp(z, dim=0) - z[y] + 1, "expected")],
    },
    checks.check_true_class_probability: {
        "right": [math.exp(-1), 0.3679, 1 / math.e, torch.exp(torch.tensor(-1.0)), np.float32(math.exp(-1))],
        "wrong": [(0.1, "log10"), (1.0, "not 1.0"), (math.e, "not a probability"), (0.5, "not 1.0"), (-1, "not a probability"),
                  ("0.3679", "got str"), (None, "replace None")],
    },
}


def ce_loop(x, t, reduction):
    """Per-sample −log softmax(x_n)[t_n] with each row's max, by a plain loop; then the reduction."""
    losses = []
    for row, target in zip(np.asarray(x, dtype=np.float64), t):
        m = max(row)
        losses.append(m + math.log(sum(math.exp(v - m) for v in row)) - row[target])
    return {"none": np.array(losses), "sum": sum(losses), "mean": sum(losses) / len(losses)}[reduction]


def ce_torch(x, t, reduction):
    return torch.nn.functional.cross_entropy(torch.tensor(x, requires_grad=True), torch.tensor(t), reduction=reduction)


def log_softmax(x, axis):
    return x - npF.logsumexp(x, dim=axis, keepdim=True)


LEARNERS.update({
    checks.check_batch_cross_entropy: {
        "right": [ce_loop, ce_torch, lambda x, t, r: ce_loop(x, t, r).tolist() if r == "none" else ce_loop(x, t, r)],
        "wrong": [(lambda x, t, r: ce_loop(x, t, "sum" if r == "mean" else r), "divide by the batch size"),
                  (lambda x, t, r: ce_loop(x, t, "mean" if r == "sum" else r), "add the per-sample"),
                  (lambda x, t, r: -log_softmax(x, 1)[:, t] if r == "none" else ce_loop(x, t, r), "N × N"),
                  (lambda x, t, r: {"none": lambda v: v, "sum": np.sum, "mean": np.mean}[r](-log_softmax(x, 0)[np.arange(len(t)), t]), "axis=0"),
                  (lambda x, t, r: -ce_loop(x, t, r), "sign is flipped"),
                  (lambda x, t, r: ce_loop(x, t, "sum") / x.shape[1] if r == "mean" else ce_loop(x, t, r), "number of classes C"),
                  (lambda x, t, r: {"none": lambda v: v, "sum": np.sum, "mean": np.mean}[r](-np.log(naive_rows(x)[np.arange(len(t)), t])), "inf/nan")],
    },
    checks.check_accuracy: {
        "right": [lambda x, t: np.mean(np.argmax(x, axis=1) == t), lambda x, t: (torch.tensor(x).argmax(dim=1) == torch.tensor(t)).float().mean(),
                  lambda x, t: sum(int(np.argmax(row) == target) for row, target in zip(x, t)) / len(t)],
        "wrong": [(lambda x, t: np.sum(x.argmax(axis=1) == t), "number of correct rows"),
                  (lambda x, t: 100 * np.mean(x.argmax(axis=1) == t), "percentage"),
                  (lambda x, t: np.sum(x.argmax(axis=1) == t) / x.shape[1], "number of classes C"),
                  (lambda x, t: np.mean(x.max(axis=1) == t), "argmax"),
                  (lambda x, t: x.argmax(axis=1) == t, "their mean"),
                  (lambda x, t: np.mean(x.argmax(axis=0) == t), "one argmax per row"),
                  (lambda x, t: np.mean(x.argmin(axis=1) == t), "expected")],
    },
    checks.check_combine_means: {
        "right": [lambda m, n: np.average(m, weights=n), lambda m, n: sum(mi * ni for mi, ni in zip(m, n)) / sum(n),
                  lambda m, n: (torch.tensor(m) * torch.tensor(n)).sum() / torch.tensor(n).sum()],
        "wrong": [(lambda m, n: np.mean(m), "mean of the means"), (lambda m, n: np.sum(m * n), "total loss"),
                  (lambda m, n: np.sum(m * n) / len(n), "not by the number of micro-batches"), (lambda m, n: np.sum(m), "sum of the means"),
                  (lambda m, n: np.sum(m / n), "expected"), (lambda m, n: np.median(m), "expected")],
    },
})


def bce_loop(x, y):
    """Mean of −[y log σ(x) + (1 − y) log(1 − σ(x))], each log σ computed as −log(1 + e^−x) on the safe side."""
    total = 0.0
    for xi, yi in zip(x, y):
        log_sig = -math.log1p(math.exp(-xi)) if xi >= 0 else xi - math.log1p(math.exp(xi))  # log σ(x)
        log_one_minus = log_sig - xi  # log(1 − σ(x)) = log σ(x) − x
        total += -(yi * log_sig + (1 - yi) * log_one_minus)
    return total / len(x)


def lse_loop(x):
    return np.array([max(row) + math.log(sum(math.exp(v - max(row)) for v in row)) for row in np.asarray(x)])


CHOICE = dict(zip(checks.LOSS_TASKS, ["BCEWithLogitsLoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]))

LEARNERS.update({
    checks.check_bce_with_logits: {
        "right": [bce_loop, lambda x, y: torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(y)),
                  lambda x, y: np.mean(np.logaddexp(0, x) - x * y),
                  lambda x, y: np.mean(np.maximum(x, 0) - x * y + np.log(1 + np.exp(-np.abs(x))))],
        "wrong": [(lambda x, y: np.mean(-(y * np.log(npF.sigmoid(x)) + (1 - y) * np.log(1 - npF.sigmoid(x)))), "±1000 give inf/nan"),
                  (lambda x, y: np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-x))), "±1000 give inf/nan"),
                  (lambda x, y: -bce_loop(x, y), "sign is flipped"),
                  (lambda x, y: bce_loop(x, y) * len(x), "sum over the samples"),
                  (lambda x, y: bce_loop(x, 1 - y), "terms are swapped"),
                  (lambda x, y: np.mean(-(y * np.log(np.clip(npF.sigmoid(x), 1e-7, 1 - 1e-7)) + (1 - y) * np.log(np.clip(1 - npF.sigmoid(x), 1e-7, 1 - 1e-7)))), "Clipping"),
                  (lambda x, y: torch.nn.functional.binary_cross_entropy(torch.sigmoid(torch.tensor(x)), torch.tensor(y)), "clamped")],
    },
    checks.check_loss_choice: {
        "right": [CHOICE, {**CHOICE, checks.LOSS_TASKS[0]: "CrossEntropyLoss"},
                  {k: f"nn.{v}()" for k, v in CHOICE.items()}, {k: getattr(torch.nn, v) for k, v in CHOICE.items()},
                  {k: getattr(torch.nn, v)() for k, v in CHOICE.items()}],
        "wrong": [({k: "CrossEntropyLoss" for k in CHOICE}, "how many labels"), ({**CHOICE, checks.LOSS_TASKS[0]: "BCELoss"}, "takes logits"),
                  ({**CHOICE, checks.LOSS_TASKS[1]: "NLLLoss"}, "takes logits"), ({**CHOICE, checks.LOSS_TASKS[0]: "MSELoss"}, "not the usual choice"),
                  ({checks.LOSS_TASKS[0]: "BCEWithLogitsLoss"}, "no answer for"), (list(CHOICE.values()), "expected a dict"),
                  ({**CHOICE, checks.LOSS_TASKS[1]: "BCEWithLogitsLoss"}, "not the usual choice")],
    },
    checks.check_sigmoid_logit: {
        "right": [lambda z: z[:, 1] - z[:, 0], lambda z: np.diff(z, axis=1)[:, 0], lambda z: torch.tensor(z)[:, 1] - torch.tensor(z)[:, 0],
                  lambda z: np.log(npF.softmax(z, dim=1)[:, 1] / npF.softmax(z, dim=1)[:, 0])],
        "wrong": [(lambda z: z[:, 0] - z[:, 1], "sign is flipped"), (lambda z: npF.softmax(z, dim=1)[:, 1], "that is the probability"),
                  (lambda z: z[:, 1], "does not equal"), (lambda z: z[:, 1] / z[:, 0], "does not equal"),
                  (lambda z: z[1] - z[0], "shape"), (lambda z: z.sum(axis=1), "does not equal")],
    },
    checks.check_logsumexp_rows: {
        "right": [lse_loop, lambda x: torch.logsumexp(torch.tensor(x), dim=1), lambda x: np.logaddexp.reduce(x, axis=1)],
        "wrong": [(naive_lse, "overflows"), (lambda x: np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)), "add it back"),
                  (lambda x: np.log(np.exp(x - x.max()).sum(axis=1)) + x.max(), "one max for the whole array"),
                  (lambda x: np.log(np.exp(x - x.mean(axis=1, keepdims=True)).sum(axis=1)) + x.mean(axis=1), "wide row"),
                  (lambda x: np.log(np.exp(x - x.max(axis=1)).sum(axis=1)) + x.max(axis=1), "keepdims=True"),
                  (lambda x: npF.logsumexp(x, dim=0), "one value per row"), (lambda x: npF.logsumexp(x, dim=1) / math.log(10), "log10 or log2")],
    },
    checks.check_log_softmax_rows: {
        "right": [lambda x: torch.log_softmax(torch.tensor(x), dim=1), lambda x: x - np.logaddexp.reduce(x, axis=1, keepdims=True),
                  lambda x: np.asarray(x) - lse_loop(x)[:, None]],
        "wrong": [(lambda x: np.log(npF.softmax(x, dim=1)), "log(softmax)"), (lambda x: x - x.max(axis=1, keepdims=True), "only the first step"),
                  (lambda x: npF.softmax(x, dim=1), "those are the probabilities"), (lambda x: npF.log_softmax(x, dim=0), "axis=0"),
                  (lambda x: x - npF.logsumexp(x, dim=1), "keepdims=True"), (lambda x: x - naive_lse(x)[:, None], "inf/nan"),
                  (lambda x: npF.log_softmax(x, dim=1) + 1, "largest difference")],
    },
    checks.check_overflow_threshold: {
        "right": [88.7228, float(np.log(np.finfo(np.float32).max)), torch.log(torch.tensor(torch.finfo(torch.float32).max)),
                  math.log(3.4028234663852886e38)],
        "wrong": [(709.78, "float64's threshold"), (11.09, "float16's threshold"), (float(np.finfo(np.float32).max), "largest float32 itself"),
                  (88.0, "higher"), (89.0, "lower"), ("88.72", "got str"), (None, "replace None")],
    },
})


def jacobian_loop(z):
    p = softmax_loop(np.asarray(z)[None])[0]
    return np.array([[p[i] * ((i == j) - p[j]) for j in range(len(p))] for i in range(len(p))])


def ce_grad_torch(z, t):
    logits = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(logits, torch.tensor(t)).backward()
    return logits.grad


def bce_grad_torch(x, y):
    logits = torch.tensor(x, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(y)).backward()
    return logits.grad


def sm(z, axis=-1):
    return npF.softmax(z, dim=axis)


def two_layer_torch(X, Y, W1, b1, W2, b2):
    """Autograd's gradients of F.cross_entropy(relu(X W1ᵀ + b1) W2ᵀ + b2, Y) with probability targets."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}
    Z = torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(t["X"], t["W1"], t["b1"])), t["W2"], t["b2"])
    torch.nn.functional.cross_entropy(Z, torch.tensor(Y)).backward()
    return {k: v.grad for k, v in t.items()}


def two_layer_loop(X, Y, W1, b1, W2, b2):
    """The chain rule entry by entry, in plain Python loops: no matrix product, no broadcasting."""
    N, D_in, D, C = len(X), X.shape[1], len(W1), len(W2)
    A = [[sum(X[n][i] * W1[k][i] for i in range(D_in)) + b1[k] for k in range(D)] for n in range(N)]
    h = [[max(a, 0.0) for a in row] for row in A]
    Z = [[sum(h[n][k] * W2[c][k] for k in range(D)) + b2[c] for c in range(C)] for n in range(N)]
    dZ = [[(math.exp(Z[n][c]) / sum(math.exp(v) for v in Z[n]) - Y[n][c]) / N for c in range(C)] for n in range(N)]
    dA = [[sum(dZ[n][c] * W2[c][k] for c in range(C)) * (A[n][k] > 0) for k in range(D)] for n in range(N)]
    return {"X": [[sum(dA[n][k] * W1[k][i] for k in range(D)) for i in range(D_in)] for n in range(N)],
            "W1": [[sum(dA[n][k] * X[n][i] for n in range(N)) for i in range(D_in)] for k in range(D)],
            "b1": [sum(dA[n][k] for n in range(N)) for k in range(D)],
            "W2": [[sum(dZ[n][c] * h[n][k] for n in range(N)) for k in range(D)] for c in range(C)],
            "b2": [sum(dZ[n][c] for n in range(N)) for c in range(C)]}


def two_layer_variant(mistake):
    """The usual mistakes of a manual backward pass, one at a time."""
    def backward(X, Y, W1, b1, W2, b2):
        A = X @ W1.T + b1
        h = np.maximum(A, 0)
        P = sm(h @ W2.T + b2, 0 if mistake == "axis 0" else 1)
        dZ = (P - (np.eye(Y.shape[1])[Y.argmax(1)] if mistake == "one-hot" else Y)) / (1 if mistake == "sum" else len(X))
        dA = (dZ @ W2) * (1 if mistake == "no relu" else (A > 0))
        grads = {"X": dA @ W1, "W1": dA.T @ X, "b1": dA.sum(axis=0), "W2": dZ.T @ h, "b2": dZ.sum(axis=0)}
        if mistake == "transposed":
            grads["W2"] = h.T @ dZ
        if mistake == "mean":
            grads["b1"], grads["b2"] = dA.mean(axis=0), dZ.mean(axis=0)
        if mistake == "dX unmasked":
            grads["X"] = dZ @ W2 @ W1
        if mistake == "A for h":
            grads["W2"] = dZ.T @ A
        if mistake == "no X":
            del grads["X"]
        if mistake == "squeezed":
            grads = {k: np.squeeze(v) for k, v in grads.items()}
        return grads
    return backward


LEARNERS.update({
    checks.check_softmax_jacobian: {
        "right": [jacobian_loop, lambda z: torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), torch.tensor(z)),
                  lambda z: sm(z)[:, None] * (np.eye(len(z)) - sm(z)[None, :])],
        "wrong": [(lambda z: np.outer(sm(z), sm(z)) - np.diag(sm(z)), "sign is flipped"), (lambda z: np.diag(sm(z)), "only the diagonal"),
                  (lambda z: np.diag(sm(z) * (1 - sm(z))), "off-diagonal entries"), (lambda z: -np.outer(sm(z), sm(z)), "misses its + p_i"),
                  (lambda z: np.diag(z) - np.outer(z, z), "not the logits"), (lambda z: np.diag(sm(z)) - sm(z) * sm(z), "largest difference"),
                  (lambda z: (np.diag(sm(z)) - np.outer(sm(z), sm(z)))[:2], "C × C")],
    },
    checks.check_cross_entropy_grad: {
        "right": [ce_grad_torch, lambda z, t: (sm(z) - np.eye(z.shape[1])[t]) / len(t),
                  lambda z, t: np.array([[(sm(row)[j] - (j == tn)) / len(t) for j in range(len(row))] for row, tn in zip(z, t)])],
        "wrong": [(lambda z, t: sm(z) - np.eye(3)[t], "gradient of the sum"), (lambda z, t: (np.eye(3)[t] - sm(z)) / len(t), "sign is flipped"),
                  (lambda z, t: (z - np.eye(3)[t]) / len(t), "not the logits"), (lambda z, t: (sm(z) - np.eye(3)[t]) / z.size, "divide by N"),
                  (lambda z, t: sm(z) / len(t), "targets are missing"), (lambda z, t: (sm(z, 0) - np.eye(3)[t]) / len(t), "axis=1"),
                  (lambda z, t: (sm(z) - np.eye(3)[t]) / len(t) + 0.01, "largest difference")],
    },
    checks.check_bce_grad: {
        "right": [bce_grad_torch, lambda x, y: (1 / (1 + np.exp(-x)) - y) / x.size,
                  lambda x, y: np.array([[(1 / (1 + math.exp(-v)) - w) / x.size for v, w in zip(r, q)] for r, q in zip(x, y)])],
        "wrong": [(lambda x, y: npF.sigmoid(x) - y, "gradient of the sum"), (lambda x, y: (y - npF.sigmoid(x)) / x.size, "sign is flipped"),
                  (lambda x, y: (npF.sigmoid(x) - y) / len(x), "not just the rows"), (lambda x, y: (npF.sigmoid(x) - y) / x.shape[1], "not just the rows"),
                  (lambda x, y: npF.sigmoid(x) * (1 - npF.sigmoid(x)) / x.size, "derivative of σ alone"),
                  (lambda x, y: (x - y) / x.size, "not the logit"), (lambda x, y: (npF.sigmoid(x) - y).T / x.size, "shape")],
    },
    checks.check_two_layer_backward: {
        "right": [two_layer_torch, two_layer_loop,
                  lambda X, Y, W1, b1, W2, b2: {k: v.astype(np.float32) for k, v in two_layer_variant(None)(X, Y, W1, b1, W2, b2).items()}],
        "wrong": [(two_layer_variant("sum"), "summed loss"), (two_layer_variant("one-hot"), "targets Y are probabilities"),
                  (two_layer_variant("axis 0"), "axis=1"), (two_layer_variant("no relu"), "ReLU's derivative"),
                  (two_layer_variant("transposed"), "transposed"), (two_layer_variant("mean"), "sums over the batch"),
                  (two_layer_variant("dX unmasked"), "input's is not"), (two_layer_variant("A for h"), "not the pre-activation"),
                  (two_layer_variant("no X"), "no gradient for 'X'"), (two_layer_variant("squeezed"), "batch of one"),
                  (lambda *args: list(two_layer_torch(*args).values()), "return a dict")],
    },
    checks.check_weighted_mean: {
        "right": [lambda z, t, w: torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t), weight=torch.tensor(w)),
                  lambda z, t, w: sum(w[tn] * ce_loop(row[None], [tn], "sum") for row, tn in zip(z, t)) / sum(w[tn] for tn in t),
                  lambda z, t, w: np.float32(npF.cross_entropy(z, t, weight=w))],
        "wrong": [(lambda z, t, w: np.mean(w[t] * ce_loop(z, t, "none")), "divided by N"), (lambda z, t, w: np.sum(w[t] * ce_loop(z, t, "none")), "that is the sum"),
                  (lambda z, t, w: ce_loop(z, t, "mean"), "weights are not used"),
                  (lambda z, t, w: np.sum(w[t] * ce_loop(z, t, "none")) / w.sum(), "sum of all class weights"),
                  (lambda z, t, w: np.sum(w[:len(t)] * ce_loop(z, t, "none")) / w.sum(), "raised"),
                  (lambda z, t, w: -np.sum(w[t] * ce_loop(z, t, "none")) / w[t].sum(), "expected")],
    },
    checks.check_smooth_targets: {
        "right": [lambda t, c, e: torch.nn.functional.one_hot(torch.tensor(t), c) * (1 - e) + e / c,
                  lambda t, c, e: [[(1 - e) * (j == tn) + e / c for j in range(c)] for tn in t],
                  lambda t, c, e: np.full((len(t), c), e / c) + (1 - e) * np.eye(c)[t]],
        "wrong": [(lambda t, c, e: (1 - e) * np.eye(c)[t] + e / (c - 1) * (1 - np.eye(c)[t]), "ε/(C − 1) variant"),
                  (lambda t, c, e: np.eye(c)[t] + e / c, "scale the one-hot part"), (lambda t, c, e: (1 - e) * np.eye(c)[t], "uniform part"),
                  (lambda t, c, e: ((1 - e) * np.eye(c)[t] + e / c).T, "transposed"),
                  (lambda t, c, e: (1 - e) * np.eye(c)[t] + e / len(t), "not over the N samples"),
                  (lambda t, c, e: (1 - e) * np.eye(c)[t] + e, "ε/C each")],
    },
    checks.check_pos_weight: {
        "right": [lambda Y: (Y == 0).sum(axis=0) / (Y == 1).sum(axis=0), lambda Y: (torch.tensor(Y) == 0).sum(0) / (torch.tensor(Y) == 1).sum(0),
                  lambda Y: [sum(1 - r[j] for r in Y) / sum(r[j] for r in Y) for j in range(Y.shape[1])]],
        "wrong": [(lambda Y: Y.sum(0) / (len(Y) - Y.sum(0)), "inverted"), (lambda Y: len(Y) / Y.sum(0), "N / #positives"),
                  (lambda Y: Y.sum(0), "counts"), (lambda Y: (len(Y) - Y.sum(0)) / len(Y), "fraction of the N samples"),
                  (lambda Y: (Y.shape[1] - Y.sum(1)) / np.maximum(Y.sum(1), 1), "one value per label"), (lambda Y: len(Y) - Y.sum(0), "counts")],
    },
})


def ece_loop(conf, correct, n_bins):
    """Σ_b (n_b / N) |acc_b − conf_b| over bins (b/B, (b+1)/B], 0 going into the first, by a loop over the samples."""
    bins = [[] for _ in range(n_bins)]
    for c, k in zip(conf, correct):
        b = max(0, math.ceil(c * n_bins) - 1)  # (b/B, (b+1)/B]; a confidence of 0 counts in bin 0
        bins[b].append((c, k))
    return sum(len(b) / len(conf) * abs(np.mean([k for _, k in b]) - np.mean([c for c, _ in b])) for b in bins if b)


def merge_loop(m1, s1, m2, s2):
    m = max(m1, m2)
    if m == -math.inf:
        return m, 0.0
    return m, sum(s * math.exp(mi - m) for mi, s in ((m1, s1), (m2, s2)) if s)


def safe_mean_torch(z, t):
    loss = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t), ignore_index=-100)
    return torch.nan_to_num(loss, nan=0.0)


def safe_mean_loop(z, t):
    kept = [(row, tn) for row, tn in zip(z, t) if tn != -100]
    return sum(ce_loop(row[None], [tn], "sum") for row, tn in kept) / max(len(kept), 1)


LEARNERS.update({
    checks.check_chunk_rows: {
        "right": [lambda v, b, mb: max(1, math.floor(mb * 1024 * 1024 / (v * b))), lambda v, b, mb: max(1, int(torch.tensor(mb * 2**20) // (v * b))),
                  lambda v, b, mb: max(1, int(mb * 2**20) // (v * b))],
        "wrong": [],
    },
    checks.check_ece: {
        "right": [ece_loop, lambda c, k, n: torch.tensor(ece_loop(c, k, n)), lambda c, k, n: np.float32(ece_loop(c, k, n))],
        "wrong": [],
    },
    checks.check_merge_stats: {
        "right": [merge_loop, lambda m1, s1, m2, s2: [v for v in merge_loop(m1, s1, m2, s2)],
                  lambda m1, s1, m2, s2: tuple(torch.tensor(v) for v in merge_loop(m1, s1, m2, s2))],
        "wrong": [(lambda m1, s1, m2, s2: (max(m1, m2), s1 * math.exp(m1) + s2 * math.exp(m2)), "expected s")],
    },
    checks.check_safe_mean_loss: {
        "right": [safe_mean_torch, safe_mean_loop, lambda z, t: np.float32(safe_mean_loop(z, t))],
        "wrong": [(lambda z, t: npF.cross_entropy(z, t, reduction="sum") / max(np.sum(t != -100), 2), "expected")],
    },
    checks.check_smoothing_conversion: {
        "right": [],
        "wrong": [(lambda eps, c: eps * c / (c + 1), "expected")],
    },
    checks.check_best_temperature: {
        "right": [lambda z, t, Ts: Ts[int(np.argmin([ce_torch(z / T, t, "mean").item() for T in Ts]))],
                  lambda z, t, Ts: min(Ts, key=lambda T: ce_loop(z / T, t, "mean")),
                  lambda z, t, Ts: torch.tensor(Ts)[torch.stack([torch.nn.functional.cross_entropy(torch.tensor(z) / T, torch.tensor(t)) for T in Ts]).argmin()]],
        "wrong": [(lambda z, t, Ts: int(np.argmin([ce_loop(z / T, t, "mean") for T in Ts])), "position of the best temperature"),
                  (lambda z, t, Ts: max(Ts, key=lambda T: ce_loop(z / T, t, "mean")), "highest NLL"),
                  (lambda z, t, Ts: min(Ts, key=lambda T: ce_loop(z * T, t, "mean")), "multiplied the logits by T"),
                  (lambda z, t, Ts: Ts[int(np.argmax([np.mean((z / T).argmax(1) == t) for T in Ts]))], "all the same"),
                  (lambda z, t, Ts: min(ce_loop(z / T, t, "mean") for T in Ts), "lowest NLL itself"),
                  (lambda z, t, Ts: 2.4, "not one of the candidates"),
                  (lambda z, t, Ts: 2.0, "another candidate does better"),  # T = 2 "sounds right"
                  (lambda z, t, Ts: Ts, "one temperature")],
    },
})


def ece_binned(binner):
    """ECE with the learner's own binning of the confidences (``binner(conf, n_bins)`` -> bin index per sample)."""
    def ece(conf, correct, n_bins):
        idx, total = binner(conf, n_bins), 0.0
        for b in range(n_bins):
            in_bin = idx == b
            if in_bin.any():
                total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
        return total
    return ece


def ece_drops_zero(conf, correct, n_bins):  # Guo et al.'s loop as often written: (lo, hi] with no place for 0
    return ece_binned(lambda c, n: np.where(c == 0, -1, np.ceil(c * n) - 1))(conf, correct, n_bins)


# A second reading, as a tough learner (a review): answers that slipped through or got a misleading hint
MORE_WRONG = {
    checks.check_ece: [(ece_binned(lambda c, n: (c * n).astype(int)), "is a confidence of exactly 1.0"),
                       (ece_binned(lambda c, n: np.digitize(c, np.linspace(0, 1, n + 1)[1:-1])), "(b/B, (b+1)/B]"),
                       (ece_drops_zero, "or of 0, counted")],
    checks.check_smooth_targets: [(lambda t, c, e: np.eye(t.max() + 1)[t] * (1 - e) + e / c, "num_classes is 4")],
    checks.check_best_temperature: [(lambda z, t, Ts: np.sort(Ts)[int(np.argmin([ce_loop(z / T, t, "mean") for T in Ts]))],
                                     "another candidate does better")],
    checks.check_overflow_threshold: [(88.725, "lower")],
    checks.check_chunk_rows: [(lambda v, b, mb: max(1, (int(mb) << 20) // (v * b)), "expected 12 rows")],
    checks.check_onehot_to_indices: [(lambda Y: np.round(Y @ np.arange(Y.shape[1])).astype(np.int64), "expected")],
    checks.check_log_softmax_rows: [(lambda x: x - x.max() - np.log(np.exp(x - x.max()).sum(1, keepdims=True)), "one max for the whole array")],
    checks.check_accuracy: [(lambda x, t: (x.argmax(1) == t).sum() // len(t), "integer division")],
    checks.check_combine_means: [(lambda m, n: (m * n).sum() // n.sum(), "integer division")],
    checks.check_bce_with_logits: [(lambda x, y: np.mean(np.logaddexp(0, -y * x)), "labels ±1")],
    checks.check_softmax_rows: [(lambda x: torch.softmax(torch.tensor(x), dim=1).bfloat16(), ".float() first")],
}
for _checker, _answers in MORE_WRONG.items():
    LEARNERS.setdefault(_checker, {"right": [], "wrong": []})["wrong"] += _answers
LEARNERS[checks.check_loss_choice]["right"] += [
    {k: v.lower().removesuffix("loss") for k, v in CHOICE.items()},  # "bcewithlogits", "crossentropy"
    {k: getattr(torch.nn.functional, {"BCEWithLogitsLoss": "binary_cross_entropy_with_logits", "CrossEntropyLoss": "cross_entropy"}[v])
     for k, v in CHOICE.items()}]


# Notebook 00: what learners write, right and wrong (references: torch, or a loop over the definition)


def nll_loop(log_p, t):
    return np.array([-log_p[n][t[n]] for n in range(len(t))])


def normalise_loop(A):
    return np.array([[a / sum(row) for a in row] for row in A])


def train_by_hand(model, X, t, lr, steps, reset=True, sign=1.0, reduction="mean", loss_after=False, rebind=False, no_grad=True):
    """Gradient descent as the exercise asks, with one of the usual mistakes switched on by a keyword."""
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(X), t, reduction=reduction)
        loss.backward()
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            for param in model.parameters():
                if rebind:
                    param = param - lr * param.grad  # a new tensor named param: the model's parameter stays as it was
                else:
                    param -= sign * lr * param.grad
                if reset:
                    param.grad = None
        losses.append(torch.nn.functional.cross_entropy(model(X), t).item() if loss_after else loss.item())
    return losses


def train_sgd(model, X, t, lr, steps):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.CrossEntropyLoss()(model(X), t)
        loss.backward()
        optimizer.step()
        losses.append(loss)  # tensors that still require grad
    return losses


def train_manual_gradient(model, X, t, lr, steps):
    """No backward(): the gradient (P − Y) / N written out, applied under no_grad."""
    losses = []
    for _ in range(steps):
        with torch.no_grad():
            Z = model(X)
            dZ = (torch.softmax(Z, dim=1) - torch.nn.functional.one_hot(t, Z.shape[1])) / len(t)
            losses.append(torch.nn.functional.cross_entropy(Z, t).item())
            model.weight -= lr * dZ.T @ X
            model.bias -= lr * dZ.sum(dim=0)
    return losses


def train_one_forward(model, X, t, lr, steps):  # model(X) once, before the loop
    logits, losses = model(X), []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(logits, t)
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
                param.grad = None
        losses.append(loss.item())
    return losses


def train_weight_only(model, X, t, lr, steps):
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(X), t)
        loss.backward()
        with torch.no_grad():
            model.weight -= lr * model.weight.grad
        model.zero_grad()
        losses.append(loss.item())
    return losses


def rows_of_eye(log_p, t):
    return np.eye(log_p.shape[1])[t]


LEARNERS.update({
    checks.check_true_class_nll: {
        "right": [nll_loop, lambda log_p, t: -np.take_along_axis(log_p, t[:, None], axis=1)[:, 0],
                  lambda log_p, t: -(rows_of_eye(log_p, t) * log_p).sum(axis=1),
                  lambda log_p, t: torch.nn.functional.nll_loss(torch.tensor(log_p), torch.tensor(t), reduction="none"),
                  lambda log_p, t: -torch.tensor(log_p).gather(1, torch.tensor(t)[:, None]).squeeze(1), lambda log_p, t: -np.diag(log_p[:, t])],
        "wrong": [(lambda log_p, t: -log_p[:, t], "N × N"), (lambda log_p, t: -log_p[t], "picks whole rows"),
                  (lambda log_p, t: log_p[np.arange(len(t)), t], "sign is flipped"),
                  (lambda log_p, t: -log_p[t, np.arange(len(t))], "rows first"),
                  (lambda log_p, t: -log_p[np.arange(log_p.shape[1]), t], "not np.arange(C)"),
                  (lambda log_p, t: np.exp(log_p[np.arange(len(t)), t]), "probabilities"),
                  (lambda log_p, t: -np.log(log_p[np.arange(len(t)), t]), "take no log"),
                  (lambda log_p, t: -log_p.max(axis=1), "predicted class"),
                  (lambda log_p, t: -log_p[np.arange(len(t)), t].mean(), "mean over the batch"),
                  (lambda log_p, t: -log_p.sum(axis=1), "all C entries"),
                  (lambda log_p, t: -log_p[np.arange(len(t)), t][:, None], "shape (N, 1)"),
                  (lambda log_p, t: -np.squeeze(log_p)[np.arange(len(t)), t] if len(t) > 1 else -np.squeeze(log_p)[t[0]], "batch of one"),
                  (lambda log_p, t: -(rows_of_eye(log_p, t) * log_p).sum(axis=0), "one loss per row")],
    },
    checks.check_normalise_rows: {
        "right": [normalise_loop, lambda A: A / A.sum(axis=1)[:, None], lambda A: torch.tensor(A) / torch.tensor(A).sum(dim=1, keepdim=True),
                  lambda A: (A.T / A.sum(axis=1)).T, lambda A: np.einsum("nc,n->nc", A, 1 / A.sum(axis=1))],
        "wrong": [(lambda A: A / A.sum(axis=1), "keepdims=True"), (lambda A: A / A.sum(axis=0, keepdims=True), "each column sums to 1"),
                  (lambda A: A / A.sum(), "whole array"), (lambda A: A / A.max(axis=1, keepdims=True), "largest entry"),
                  (lambda A: A / A.mean(axis=1, keepdims=True), "rows sum to C"), (lambda A: npF.softmax(A, dim=1), "softmax of A"),
                  (lambda A: (A / A.sum(axis=1, keepdims=True)).T, "transposed"),
                  (lambda A: A / A.sum(axis=1) if A.shape[0] == A.shape[1] else A / A.sum(axis=1, keepdims=True), "column j by the sum of row j"),
                  (lambda A: np.squeeze(A) / np.squeeze(A).sum(axis=-1, keepdims=True), "batch of one"),
                  (lambda A: A.sum(axis=1, keepdims=True), "shape"), (lambda A: A / (A.sum(axis=1, keepdims=True) + 1), "sum to")],
    },
    checks.check_train_steps: {
        "right": [train_by_hand, train_sgd, train_manual_gradient, lambda m, X, t, lr, k: torch.tensor(train_by_hand(m, X, t, lr, k))],
        "wrong": [(lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, reset=False), "added up over the steps"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, sign=-1.0), "up the gradient"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, reduction="sum"), "summed loss"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, rebind=True), "did not move"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, no_grad=False), "torch.no_grad()"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k, loss_after=True), "after its step"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k - 1), "where 2 steps take them"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, 0.1, k), "lr argument"),
                  (lambda m, X, t, lr, k: train_by_hand(m, X, t, lr, k)[-1], "one per step"),
                  (train_one_forward, "second time"), (train_weight_only, "the bias did not"),
                  (lambda m, X, t, lr, k: [torch.nn.functional.cross_entropy(m(X), t).item()] * k, "did not move")],
    },
})


# Notebook 11: what learners write, right and wrong (references: torch, a loop over the ranks, np.array_split's split)


def combine_loop(maxes, sums, target_logits):
    """Row by row, rank by rank: notebook 09's merge of (max, sum) pairs, then m + log s − Σ_r z_t,r; a list."""
    losses = []
    for n in range(len(maxes[0])):
        m, s = -math.inf, 0.0
        for r in range(len(maxes)):
            new = max(m, float(maxes[r][n]))
            s = s * math.exp(m - new) + float(sums[r][n]) * math.exp(float(maxes[r][n]) - new)
            m = new
        losses.append(m + math.log(s) - sum(float(target_logits[r][n]) for r in range(len(maxes))))
    return losses


def combine_torch(maxes, sums, target_logits):
    m, s, z = (torch.tensor(a) for a in (maxes, sums, target_logits))
    return torch.logsumexp(m + s.log(), dim=0) - z.sum(dim=0)


def combine_shifted(maxes, sums, target_logits, shift=lambda M: M.max(axis=0), target=lambda Z: Z.sum(axis=0), add_m=True):
    """m + log Σ_r s_r e^(m_r − m) − z_t with the learner's m (shift) and target term; each mistake one keyword."""
    m = shift(maxes)
    return (m if add_m else 0) + np.log((sums * np.exp(maxes - m)).sum(axis=0)) - target(target_logits)


def combine_wrong_axis(maxes, sums, target_logits):  # keepdims=True over the rows, axis=1: one value per rank
    m = maxes.max(axis=1, keepdims=True)
    return m[:, 0] + np.log((sums * np.exp(maxes - m)).sum(axis=1)) - target_logits.sum(axis=1)


def course_sizes(V, P):
    return [V // P + (r < V % P) for r in range(P)]


def owner_closed_form(t, V, P):
    """The first V mod P ranks hold q + 1 classes, the others q: two runs of equal shards."""
    q, extra = divmod(V, P)
    big = extra * (q + 1)  # classes held by the larger shards
    return np.where(t < big, t // (q + 1), extra + (t - big) // q)


def owner_loop(t, V, P):
    sizes, ranks = course_sizes(V, P), []
    for c in t:
        rank, stop = 0, sizes[0]
        while c >= stop:
            rank += 1
            stop += sizes[rank]
        ranks.append(rank)
    return ranks


def owner_torch(t, V, P):
    stops = torch.tensor(course_sizes(V, P)).cumsum(0)
    return torch.bucketize(torch.tensor(t), stops, right=True)


def owner_array_split(t, V, P):
    return np.concatenate([np.full(len(part), r) for r, part in enumerate(np.array_split(np.arange(V), P))])[t]


def owner_chunk(t, V, P):  # torch.chunk's split, ⌈V/P⌉ classes per rank (DTensor's)
    return torch.cat([torch.full((len(c),), r) for r, c in enumerate(torch.arange(V).chunk(P))])[torch.tensor(t)]


def ring_bytes(n, V, P, b):
    """The ring step by step: an all-reduce is P − 1 steps of reduce-scatter and P − 1 of all-gather, each sending one
    chunk of n / P numbers; the logits' all-gather is P − 1 steps, each forwarding one rank's n × V/P shard."""
    vocab_parallel = 0
    for _collective in ("max", "sum of exps", "sum of target logits"):
        for _phase in ("reduce-scatter", "all-gather"):
            for _step in range(P - 1):
                vocab_parallel += n // P * b
    gather = sum(n * (V // P) * b for _step in range(P - 1))
    return vocab_parallel, gather


def bytes_right(n, V, P, b):
    return 3 * 2 * (P - 1) * n * b // P, (P - 1) * n * V * b // P


LEARNERS.update({
    checks.check_combine_stats: {
        "right": [combine_loop, combine_torch,
                  lambda M, S, Z: np.logaddexp.reduce(M + np.log(S), axis=0) - Z.sum(axis=0),
                  combine_shifted],
        "wrong": [(lambda M, S, Z: M.max(axis=0) + np.log(S.sum(axis=0)) - Z.sum(axis=0), "rescale it by e^(m_r − m)"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, target=lambda Z: Z.max(axis=0)), "max of the target logits"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, target=lambda Z: Z.mean(axis=0)), "mean of the target logits"),
                  (lambda M, S, Z: np.mean(combine_loop(M, S, Z)), "averaged the losses"),
                  (combine_wrong_axis, "axis=0"),
                  (lambda M, S, Z: M.max(axis=1) + np.log((S * np.exp(M - M.max(axis=1))).sum(axis=1)) - Z.sum(axis=1),
                   "the ranks are axis 0"),
                  (lambda M, S, Z: np.log((S * np.exp(M)).sum(axis=0)) - Z.sum(axis=0), "overflows"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, target=lambda Z: -Z.sum(axis=0)), "sign of the target term"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, add_m=False), "add m back"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, shift=lambda M: M.max()), "one max for the whole array"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, shift=lambda M: M.min(axis=0)), "Subtract the largest max"),
                  (lambda M, S, Z: combine_shifted(M, S, Z, shift=lambda M: M[0]), "overflows"),  # rank 0's max
                  (lambda M, S, Z: combine_shifted(M, S, Z, shift=lambda M: M.mean(axis=0)), "overflows"),
                  (lambda M, S, Z: -combine_shifted(M, S, Z), "the sign is flipped"),
                  (lambda M, S, Z: combine_shifted(M.astype(np.float16), S, Z), "expected"),
                  (lambda M, S, Z: combine_torch(np.squeeze(M), np.squeeze(S), np.squeeze(Z)), "batch of one")],
    },
    checks.check_owner: {
        "right": [owner_closed_form, owner_loop, owner_torch, owner_array_split,
                  lambda t, V, P: owner_closed_form(t, V, P).astype(float)],  # 1.0 is rank 1
        "wrong": [(lambda t, V, P: t // (V // P), "assumes V is divisible by P"),
                  (lambda t, V, P: t // math.ceil(V / P), "torch.chunk's split"),
                  (owner_chunk, "torch.chunk's split"),
                  (lambda t, V, P: t * P // V, "puts them first"),
                  (lambda t, V, P: np.floor(t * P / V), "puts them first"),
                  (lambda t, V, P: t * P / V, "a rank is a whole number"),
                  (lambda t, V, P: np.searchsorted(np.cumsum(course_sizes(V, P)), t), "off by one at a shard boundary"),
                  (lambda t, V, P: np.digitize(t, np.cumsum(course_sizes(V, P)), right=True), "off by one at a shard boundary"),
                  (lambda t, V, P: (np.cumsum(course_sizes(V, P)) - course_sizes(V, P))[owner_loop(t, V, P)], "first class of the owner's shard"),
                  (lambda t, V, P: t - (np.cumsum(course_sizes(V, P)) - course_sizes(V, P))[owner_loop(t, V, P)], "position inside its shard"),
                  (lambda t, V, P: owner_closed_form(t, V, P) + 1, "the ranks are 0 … 3"),
                  (lambda t, V, P: owner_closed_form(np.squeeze(t), V, P), "batch of one")],
    },
    checks.check_bytes_per_step: {
        "right": [bytes_right, ring_bytes, lambda n, V, P, b: (3 * 2 * (P - 1) / P * n * b, (P - 1) / P * n * V * b),
                  lambda n, V, P, b: torch.tensor([6.0 * (P - 1) / P * n * b, (1 - 1 / P) * n * V * b], dtype=torch.float64),
                  lambda n, V, P, b: list(np.array(bytes_right(n, V, P, b), dtype=np.int64))],
        "wrong": [(lambda n, V, P, b: (3 * n * b, bytes_right(n, V, P, b)[1]), "no ring factor"),
                  (lambda n, V, P, b: (3 * (P - 1) / P * n * b, bytes_right(n, V, P, b)[1]), "reduce-scatter"),
                  (lambda n, V, P, b: (2 * 2 * (P - 1) / P * n * b, bytes_right(n, V, P, b)[1]), "three all-reduces"),
                  (lambda n, V, P, b: (bytes_right(n, V, P, b)[0], n * V * b), "all n × V logits"),
                  (lambda n, V, P, b: (bytes_right(n, V, P, b)[0], 2 * (P - 1) / P * n * V * b), "an all-gather is only"),
                  (lambda n, V, P, b: (bytes_right(n, V, P, b)[0], n * V // P * b), "one rank's shard"),
                  (lambda n, V, P, b: bytes_right(n, V, P, b)[0], "return the pair"),
                  (lambda n, V, P, b: bytes_right(n, V, P, b)[::-1], "swapped"),
                  (lambda n, V, P, b: (6 * ((P - 1) // P) * n * b, (P - 1) // P * n * V * b), "integer division"),
                  (lambda n, V, P, b: (6 * (P - 1) / P * n, (P - 1) / P * n * V), "multiply by bytes_per_number"),
                  (lambda n, V, P, b: (6 * (P - 1) * n * b, (P - 1) * n * V * b // P), "divide by P"),
                  (lambda n, V, P, b: (8 * bytes_right(n, V, P, b)[0], 8 * bytes_right(n, V, P, b)[1]), "that is bits"),
                  (lambda n, V, P, b: bytes_right(n, V, P, b) if P > 1 else (3 * n * b, n * V * b), "nothing is sent"),
                  (lambda n, V, P, b: (bytes_right(n, V, P, b)[0] + 1, bytes_right(n, V, P, b)[1]), "the three all-reduces send"),
                  (lambda n, V, P, b: (bytes_right(n, V, P, b)[0], bytes_right(n, V, P, b)[1] + n * b), "gathering the logits sends")],
    },
})


# Notebook 12: what learners write, right and wrong (references: torch's F.kl_div, F.cross_entropy, F.normalize,
# torch.logsumexp, plain loops, and a sparsemax by bisection written here)


def lse_row(row):
    m = max(row)
    return m + math.log(sum(math.exp(v - m) for v in row))


def z_loss_loop(z, alpha):
    return alpha * sum(lse_row(row) ** 2 for row in np.asarray(z, dtype=np.float64)) / len(z)


def z_loss_variant(z, alpha, log_z=lambda z: np.logaddexp.reduce(z, axis=1), square=True, reduce=np.mean, scale=True):
    """α · reduce((log Z)²) with one of the usual mistakes switched on by a keyword."""
    lz = log_z(z)
    return (alpha if scale else 1) * reduce(lz**2 if square else lz)


def tanh_by_exp(z, cap):
    u = z / cap
    return cap * (np.exp(u) - np.exp(-u)) / (np.exp(u) + np.exp(-u))


def kl_torch(s, t, T, reduction="batchmean", student_T=True, teacher_T=True):
    s, t = torch.tensor(s), torch.tensor(t)
    log_ps = torch.nn.functional.log_softmax(s / T if student_T else s, dim=1)
    p_t = torch.nn.functional.softmax(t / T if teacher_T else t, dim=1)
    with warnings.catch_warnings():  # reduction='mean' warns that it is not the KL divergence: the mistake under test
        warnings.simplefilter("ignore")
        return T**2 * torch.nn.functional.kl_div(log_ps, p_t, reduction=reduction)


def distill_loop(s, t, T):
    """Σ_c p_t,c (log p_t,c − log p_s,c) row by row, each log-softmax with its row's max; times T², mean over rows."""
    total = 0.0
    for row_s, row_t in zip(np.asarray(s, dtype=np.float64) / T, np.asarray(t, dtype=np.float64) / T):
        ls, lt = lse_row(row_s), lse_row(row_t)
        total += sum(math.exp(b - lt) * ((b - lt) - (a - ls)) for a, b in zip(row_s, row_t))
    return T * T * total / len(s)


def distill_min_shift(s, t, T):
    """log-softmax with the row's min subtracted instead of its max: fine until a row spans more than 709·T."""
    def log_softmax(x):
        m = x.min(axis=1, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    log_p, log_r = log_softmax(s / T), log_softmax(t / T)
    return T**2 * np.mean(np.sum(np.exp(log_r) * (log_r - log_p), axis=1))


def clip_torch(img, txt, tau, dtype=torch.float64, norm_dim=1, scale=lambda S, tau: S / tau, directions="both", reduction="mean"):
    """CLIP's loss in torch, with one of the usual mistakes switched on by a keyword."""
    i = torch.nn.functional.normalize(torch.tensor(img, dtype=dtype), dim=norm_dim) if norm_dim is not None else torch.tensor(img, dtype=dtype)
    t = torch.nn.functional.normalize(torch.tensor(txt, dtype=dtype), dim=norm_dim) if norm_dim is not None else torch.tensor(txt, dtype=dtype)
    S = scale(i @ t.T, tau)
    labels = torch.arange(len(S))
    i2t = torch.nn.functional.cross_entropy(S, labels, reduction=reduction)
    t2i = torch.nn.functional.cross_entropy(S.T, labels, reduction=reduction)
    return {"both": (i2t + t2i) / 2, "i2t": i2t, "t2i": t2i, "same twice": (i2t + i2t) / 2, "added": i2t + t2i}[directions]


def clip_loop(img, txt, tau):
    unit = [[v / math.sqrt(sum(w * w for w in row)) for v in row] for row in np.asarray(img, dtype=np.float64)]
    other = [[v / math.sqrt(sum(w * w for w in row)) for v in row] for row in np.asarray(txt, dtype=np.float64)]
    S = [[sum(a * b for a, b in zip(u, o)) / tau for o in other] for u in unit]
    n = len(S)
    i2t = sum(lse_row(S[i]) - S[i][i] for i in range(n)) / n
    t2i = sum(lse_row([S[i][j] for i in range(n)]) - S[j][j] for j in range(n)) / n
    return (i2t + t2i) / 2


def clip_naive(img, txt, tau):  # softmax by exp, without the max: S reaches 1/τ = 100, and exp(100) is inf in float32
    i = img / np.linalg.norm(img, axis=1, keepdims=True)
    t = txt / np.linalg.norm(txt, axis=1, keepdims=True)
    e = np.exp(i @ t.T / tau)
    d = np.diag(e)
    return (np.mean(-np.log(d / e.sum(axis=1))) + np.mean(-np.log(d / e.sum(axis=0)))) / 2


def focal_torch(z, t, g, dtype=torch.float64):
    ce = torch.nn.functional.cross_entropy(torch.tensor(z, dtype=dtype), torch.tensor(t), reduction="none")  # −log p_t
    return ((1 - torch.exp(-ce)) ** g * ce).mean()


def focal_loop(z, t, g):
    total = 0.0
    for row, tn in zip(np.asarray(z, dtype=np.float64), t):
        log_pt = row[tn] - lse_row(row)
        total += -((1 - math.exp(log_pt)) ** g) * log_pt
    return total / len(t)


def focal_variant(z, t, g, factor=lambda p, g: (1 - p) ** g, log=None, pick="target", reduce=np.mean):
    """The focal loss in NumPy with one of the usual mistakes switched on by a keyword."""
    log_p = npF.log_softmax(z, dim=1)
    log_pt = log_p.max(axis=1) if pick == "max" else log_p[np.arange(len(t)), t]
    p_t = np.exp(log_pt)
    per_row = -log(p_t, g) if log is not None else -factor(p_t, g) * log_pt
    return reduce(per_row)


def focal_ce(z, t):  # −log p_t per row
    return torch.nn.functional.cross_entropy(torch.tensor(z, dtype=torch.float64), torch.tensor(t), reduction="none").numpy()


def focal_mean_first(z, t, g, one_minus_pt):
    """The mean over the rows taken before the focal factor: −(1 − p̄)^γ · mean log p_t."""
    log_pt = -focal_ce(z, t)
    return -(one_minus_pt(log_pt) ** g) * np.mean(log_pt)


def sampled_torch(zt, zs, qt, qs, dtype=torch.float64):
    logits = torch.cat([torch.tensor(zt - qt, dtype=dtype)[:, None], torch.tensor(zs - qs, dtype=dtype)], dim=1)
    return torch.logsumexp(logits, dim=1) - logits[:, 0]


def sampled_as_cross_entropy(zt, zs, qt, qs):  # the target is class 0 of the S + 1 corrected logits
    logits = torch.cat([torch.tensor(zt - qt)[:, None], torch.tensor(zs - qs)], dim=1)
    return torch.nn.functional.cross_entropy(logits, torch.zeros(len(zt), dtype=torch.long), reduction="none")


def sampled_with_1_over_k(zt, zs, qt, qs):
    """The 1/K of the estimate (1/K) Σ e^z / Q kept in the normaliser: the loss minus log K (the same gradient)."""
    logits = torch.cat([torch.tensor(zt - qt)[:, None], torch.tensor(zs - qs)], dim=1)
    return torch.log(torch.exp(logits - logits.max(1, keepdim=True).values).sum(1) / zs.shape[1]) + logits.max(1).values - logits[:, 0]


def sampled_min_shift(zt, zs, qt, qs):
    """The log-sum-exp shifted by the row's smallest corrected logit: exp overflows where a row spans ±1000."""
    logits = np.concatenate([(zt - qt)[:, None], zs - qs], axis=1)
    m = logits.min(axis=1)
    return m + np.log(np.exp(logits - m[:, None]).sum(axis=1)) - logits[:, 0]


def sampled_loop(zt, zs, qt, qs):
    return [lse_row([zt[n] - qt[n]] + [zs[n][k] - qs[k] for k in range(len(qs))]) - (zt[n] - qt[n]) for n in range(len(zt))]


def sampled_variant(zt, zs, qt, qs, target=lambda zt, qt: zt - qt, samples=lambda zs, qs: zs - qs, first=None, with_target=True):
    """−first + log(exp(target) + Σ exp(samples)) with the learner's corrections, by np.logaddexp."""
    a, b = target(zt, qt), samples(zs, qs)
    norm = np.logaddexp.reduce(np.concatenate([a[:, None], b], axis=1) if with_target else b, axis=1)
    return norm - (a if first is None else first(zt, qt))


def sparsemax_bisect_loop(z):
    """Bisection on τ until Σ max(z − τ, 0) = 1, row by row: no sorting (another algorithm than the library's)."""
    out = []
    for row in np.asarray(z, dtype=np.float64):
        lo, hi = max(row) - 1, max(row)  # Σ [z − lo]₊ ≥ 1 ≥ Σ [z − hi]₊ = 0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sum(max(v - mid, 0.0) for v in row) >= 1 else (lo, mid)
        p = [max(v - lo, 0.0) for v in row]
        out.append([v / sum(p) for v in p])
    return np.array(out)


def sparsemax_torch(z, dtype=torch.float64):
    z = torch.tensor(z, dtype=dtype)
    z_sorted = torch.sort(z, dim=1, descending=True).values
    k = torch.arange(1, z.shape[1] + 1, dtype=dtype)
    cumsum = z_sorted.cumsum(dim=1)
    support = (1 + k * z_sorted > cumsum).sum(dim=1, keepdim=True)
    tau = (cumsum.gather(1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


def sparsemax_np(z, k_start=1, descending=True, condition=np.greater, clip=True, cumsum_sorted=True, shift=True, sorted_out=False):
    """sparsemax in NumPy, each keyword one of the usual mistakes; ``condition=np.greater_equal`` is right too."""
    z = z - z.max(axis=1, keepdims=True) if shift else z
    srt = -np.sort(-z, axis=1) if descending else np.sort(z, axis=1)
    k = np.arange(k_start, z.shape[1] + k_start)
    cumsum = np.cumsum(srt if cumsum_sorted else z, axis=1)
    support = condition(1 + k * srt, cumsum).sum(axis=1, keepdims=True)
    tau = (np.take_along_axis(cumsum, np.maximum(support, 1) - 1, axis=1) - 1) / np.maximum(support, 1)
    base = srt if sorted_out else z
    return np.maximum(base - tau, 0) if clip else base - tau


def sparsemax_support(z, shift):  # the support size off by one (k + shift), τ from that many sorted logits
    srt = -np.sort(-z, axis=1)
    cumsum = np.cumsum(srt, axis=1)
    k = np.clip((1 + np.arange(1, z.shape[1] + 1) * srt > cumsum).sum(axis=1, keepdims=True) + shift, 1, z.shape[1])
    return np.maximum(z - (np.take_along_axis(cumsum, k - 1, axis=1) - 1) / k, 0)


def sparsemax_first_k(z):
    """The FIRST k where 1 + k z_(k) > Σ_{i≤k} z_(i) holds instead of the largest: np.argmax(cond) + 1, always 1."""
    srt = -np.sort(-z, axis=1)
    cumsum = srt.cumsum(axis=1)
    k = np.argmax(1 + np.arange(1, z.shape[1] + 1) * srt > cumsum, axis=1) + 1
    return np.maximum(z - ((cumsum[np.arange(len(z)), k - 1] - 1) / k)[:, None], 0)


def kept_loop(probs, eps):
    return [any(probs[r][j] >= eps for r in range(len(probs))) for j in range(len(probs[0]))]


LEARNERS.update({
    checks.check_z_loss: {
        "right": [z_loss_loop, lambda z, a: a * (torch.logsumexp(torch.tensor(z), dim=1) ** 2).mean(), z_loss_variant,
                  lambda z, a: a * (torch.logsumexp(torch.from_numpy(z).float(), dim=-1) ** 2).mean()],  # float32 work
        "wrong": [(lambda z, a: a * np.mean(np.log(np.exp(z).sum(axis=1)) ** 2), "stable log-sum-exp"),
                  (lambda z, a: z_loss_variant(z, a, square=False), "forgot the square"),
                  (lambda z, a: z_loss_variant(z, a, scale=False), "α is missing"),
                  (lambda z, a: z_loss_variant(z, a, reduce=np.sum), "sum over the rows"),
                  (lambda z, a: a * np.mean(np.logaddexp.reduce(z, axis=1)) ** 2, "square of the mean"),
                  (lambda z, a: z_loss_variant(z, a, log_z=lambda z: z.max(axis=1)), "each row's max"),
                  (lambda z, a: z_loss_variant(z, a, log_z=lambda z: np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))),
                   "add the max back"),
                  (lambda z, a: z_loss_variant(z, a, log_z=lambda z: torch.logsumexp(torch.tensor(z), dim=0).numpy()), "axis=0"),
                  (lambda z, a: z_loss_variant(z, a, reduce=lambda v: v), "take their mean"),
                  (lambda z, a: -z_loss_loop(z, a), "sign is flipped"),
                  (lambda z, a: z_loss_loop(z, a) * (1 + 3e-5), "float32 rounding?"),  # a near miss, shown to 6 digits
                  (lambda z, a: z_loss_variant(z, a, log_z=lambda z: z.min(axis=1) + np.log(np.exp(z - z.min(axis=1, keepdims=True)).sum(axis=1))),
                   "not its min")],  # z − min reaches 2000 in a row that spans ±1000: exp overflows
    },
    checks.check_soft_cap: {
        "right": [lambda z, c: c * np.tanh(z / c), lambda z, c: c * torch.tanh(torch.from_numpy(z).float() / c),
                  lambda z, c: c * (2 * torch.sigmoid(torch.tensor(2 * z / c)) - 1),
                  lambda z, c: np.vectorize(lambda v: c * math.tanh(v / c))(z)],
        "wrong": [(lambda z, c: c * np.tanh(z), "divide inside"), (lambda z, c: np.tanh(z / c), "multiply by cap"),
                  (lambda z, c: np.clip(z, -c, c), "hard clipping"), (lambda z, c: torch.clamp(torch.tensor(z), -c, c), "hard clipping"),
                  (lambda z, c: z / c, "only the argument"), (lambda z, c: np.tanh(z), "tanh(z) alone"),
                  (lambda z, c: z, "logits unchanged"), (tanh_by_exp, "np.tanh or torch.tanh"),
                  (lambda z, c: c * torch.sigmoid(torch.tensor(z / c)), "that is a sigmoid"),
                  (lambda z, c: c * np.tanh(z * c), "do not multiply")],
    },
    checks.check_distillation: {
        "right": [kl_torch, distill_loop,
                  lambda s, t, T: T**2 * torch.nn.functional.kl_div(torch.log_softmax(torch.from_numpy(s).float() / T, 1),
                                                                    torch.log_softmax(torch.from_numpy(t).float() / T, 1),
                                                                    reduction="batchmean", log_target=True),
                  lambda s, t, T: T**2 * npF.kl_div(npF.log_softmax(s / T, dim=1), npF.softmax(t / T, dim=1), reduction="batchmean")],
        "wrong": [(lambda s, t, T: kl_torch(s, t, T) / T**2, "T² is missing"), (lambda s, t, T: kl_torch(s, t, T) / T, "not by T"),
                  (lambda s, t, T: kl_torch(t, s, T), "KL is reversed"),
                  (lambda s, t, T: kl_torch(s, t, T, reduction="mean"), "reduction='mean' trap"),
                  (lambda s, t, T: kl_torch(s, t, T, reduction="sum"), "divide by N"),
                  (lambda s, t, T: kl_torch(s, t, T, student_T=False), "student's logits by T too"),
                  (lambda s, t, T: kl_torch(s, t, T, teacher_T=False), "teacher's logits by T too"),
                  (lambda s, t, T: T**2 * torch.nn.functional.kl_div(torch.softmax(torch.tensor(s) / T, 1), torch.softmax(torch.tensor(t) / T, 1),
                                                                     reduction="batchmean"), "must be the student's log-probabilities"),
                  (lambda s, t, T: T**2 * torch.nn.functional.cross_entropy(torch.tensor(s) / T, torch.softmax(torch.tensor(t) / T, 1)),
                   "teacher's entropy"),
                  (lambda s, t, T: T**2 * torch.nn.functional.kl_div(torch.log_softmax(torch.tensor(s) / T, 1), torch.log_softmax(torch.tensor(t) / T, 1),
                                                                     reduction="batchmean"), "log_target=True"),
                  (lambda s, t, T: T**2 * np.mean(np.sum(naive_rows(t / T) * (np.log(naive_rows(t / T)) - np.log(naive_rows(s / T))), axis=1)),
                   "log_softmax"),
                  (lambda s, t, T: -distill_loop(s, t, T), "sign is flipped"),
                  (lambda s, t, T: kl_torch(s, t, T, student_T=False, teacher_T=False), "temperature inside both softmaxes"),
                  (lambda s, t, T: T**2 * np.mean(np.sum(npF.softmax(t, dim=1) * (npF.log_softmax(t, dim=1) - npF.log_softmax(s, dim=1)), axis=1)),
                   "temperature inside both softmaxes"),
                  (lambda s, t, T: kl_torch(s, t, T, student_T=False, teacher_T=False) / T**2, "at T = 1 and without T²"),
                  (distill_min_shift, "overflows")],
    },
    checks.check_clip_loss: {
        "right": [clip_torch, clip_loop, lambda i, t, tau: clip_torch(i, t, tau, dtype=torch.float32),
                  lambda i, t, tau: (lambda S: (np.mean(np.logaddexp.reduce(S, axis=1) - np.diag(S))
                                                + np.mean(np.logaddexp.reduce(S, axis=0) - np.diag(S))) / 2)(
                      (i / np.linalg.norm(i, axis=1, keepdims=True)) @ (t / np.linalg.norm(t, axis=1, keepdims=True)).T / tau)],
        "wrong": [(lambda i, t, tau: clip_torch(i, t, tau, norm_dim=None), "normalise each embedding first"),
                  (lambda i, t, tau: clip_torch(i, t, tau, directions="i2t"), "one direction, images → texts"),
                  (lambda i, t, tau: clip_torch(i, t, tau, directions="t2i"), "one direction, texts → images"),
                  (lambda i, t, tau: clip_torch(i, t, tau, directions="same twice"), "the same direction twice"),
                  (lambda i, t, tau: clip_torch(i, t, tau, scale=lambda S, tau: S * tau), "multiplying by τ"),
                  (lambda i, t, tau: clip_torch(i, t, tau, scale=lambda S, tau: S), "divide the similarities by the temperature"),
                  (lambda i, t, tau: clip_torch(i, t, tau, reduction="sum"), "sums over the N pairs"),
                  (lambda i, t, tau: clip_torch(i, t, tau, directions="added"), "added the two directions"),
                  (lambda i, t, tau: clip_torch(i, t, tau, norm_dim=0), "normalised the columns"),
                  (lambda i, t, tau: clip_torch(i / np.linalg.norm(i), t / np.linalg.norm(t), tau, norm_dim=None), "whole matrix"),
                  (clip_naive, "overflows in float32")],
    },
    checks.check_focal_loss: {
        "right": [focal_torch, focal_loop, lambda z, t, g: focal_torch(z, t, g, dtype=torch.float32),
                  lambda z, t, g: np.mean(-(-np.expm1(npF.log_softmax(z, dim=1)[np.arange(len(t)), t])) ** g
                                          * npF.log_softmax(z, dim=1)[np.arange(len(t)), t])],
        "wrong": [(lambda z, t, g: focal_variant(z, t, g, factor=lambda p, g: p**g), "not p_t^γ"),
                  (lambda z, t, g: torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t)), "plain cross-entropy"),
                  (lambda z, t, g: focal_variant(z, t, g, reduce=np.sum), "sum over the rows"),
                  (lambda z, t, g: focal_variant(z, t, g, log=lambda p, g: np.log(p**g)), "exponent of (1 − p_t)"),
                  (lambda z, t, g: focal_variant(z, t, g, log=lambda p, g: np.log((1 - p) ** g * p)), "does not go inside"),
                  (lambda z, t, g: focal_variant(z, t, g, factor=lambda p, g: g * (1 - p)), "is a power"),
                  (lambda z, t, g: focal_variant(z, t, g, pick="max"), "largest probability"),
                  (lambda z, t, g: np.mean(-(1 - npF.softmax(z, dim=1)[np.arange(len(t)), t]) ** g
                                           * np.log(npF.softmax(z, dim=1)[np.arange(len(t)), t])), "from log_softmax"),
                  (lambda z, t, g: focal_variant(z, t, g, reduce=lambda v: v), "one value per row"),
                  (lambda z, t, g: -focal_loop(z, t, g), "sign is flipped"),
                  (lambda z, t, g: focal_mean_first(z, t, g, lambda lp: 1 - np.mean(np.exp(lp))), "the factor (1 − p_t)^γ is per row"),
                  (lambda z, t, g: focal_mean_first(z, t, g, lambda lp: 1 - np.exp(np.mean(lp))), "average at the end"),
                  (lambda z, t, g: -np.mean((1 - np.exp(-focal_ce(z, t))) ** g) * np.mean(-focal_ce(z, t)), "before applying the focal factor")],
    },
    checks.check_sampled_softmax: {
        "right": [sampled_torch, sampled_loop, sampled_variant, sampled_as_cross_entropy,
                  lambda *a: sampled_torch(*a, dtype=torch.float32)],
        "wrong": [(lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, target=lambda z, q: z, samples=lambda z, q: z), "no log-Q correction"),
                  (lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, target=lambda z, q: z + q, samples=lambda z, q: z + q), "not added"),
                  (lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, target=lambda z, q: z), "only the sampled logits"),
                  (lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, samples=lambda z, q: z), "only the target's logit"),
                  (lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, with_target=False), "leaves out the target"),
                  (lambda zt, zs, qt, qs: sampled_variant(zt, zs, qt, qs, first=lambda z, q: z), "the first term needs the correction"),
                  (lambda zt, zs, qt, qs: -(zt - qt) + np.log(np.exp(zt - qt) + np.exp(zs - qs).sum(axis=1)), "inf/nan"),
                  (lambda *a: sampled_torch(*a).mean(), "averaged"), (lambda *a: sampled_torch(*a).sum(), "added up"),
                  (lambda *a: -sampled_torch(*a), "sign is flipped"),
                  (lambda *a: sampled_torch(*a).squeeze(), "batch of one"),
                  (sampled_with_1_over_k, "differ from the expected by −log K"),
                  (sampled_min_shift, "the row's largest corrected logit"),
                  (lambda zt, zs, qt, qs: sampled_torch(zt, zs, qt, qs) + np.log(zs.shape[1]), "differ from the expected by +log K"),
                  (lambda zt, zs, qt, qs: sampled_with_1_over_k(zt, zs, qt, qs).numpy() * 1.0, "not accepted")],
    },
    checks.check_sparsemax: {
        "right": [sparsemax_torch, sparsemax_bisect_loop, lambda z: sparsemax_np(z, condition=np.greater_equal),
                  lambda z: sparsemax_torch(z, dtype=torch.float32), lambda z: sparsemax_np(z, shift=False)],
        "wrong": [(lambda z: torch.softmax(torch.tensor(z), dim=1), "that is softmax"),
                  (lambda z: np.maximum(z, 0) / np.maximum(z, 0).sum(axis=1, keepdims=True), "rescales the positive logits"),
                  (lambda z: np.maximum(z - z.mean(axis=1, keepdims=True), 0), "not the row's mean"),
                  (lambda z: sparsemax_support(z, 1), "off by one in the support size"),
                  (lambda z: sparsemax_support(z, -1), "off by one in the support size"),
                  (lambda z: sparsemax_np(z, k_start=0), "np.arange(1, V + 1)"),
                  (lambda z: sparsemax_np(z, k_start=0, shift=False), "np.arange(1, V + 1)"),
                  (sparsemax_first_k, "LARGEST k"), (lambda z: sparsemax_first_k(z - z.max(axis=1, keepdims=True)), "count the Trues"),
                  (lambda z: sparsemax_np(z, descending=False), "decreasing order"),
                  (lambda z: sparsemax_np(z, cumsum_sorted=False), "over the sorted logits"),
                  (lambda z: sparsemax_np(z, clip=False), "clip at 0"),
                  (lambda z: sparsemax_np(z, sorted_out=True), "in sorted order"),
                  (lambda z: sparsemax_np(z.T).T, "axis=0"),
                  (lambda z: np.where(sparsemax_np(z) > 0, sparsemax_np(z), 1e-9), "exactly 0")],
    },
    checks.check_kept_classes: {
        "right": [lambda p, e: (p >= e).any(axis=0), lambda p, e: (torch.tensor(p) >= e).any(dim=0), kept_loop,
                  lambda p, e: (p.max(axis=0) >= e).astype(int), lambda p, e: ~(p < e).all(axis=0)],
        "wrong": [(lambda p, e: (p >= e).all(axis=0), "EVERY row"), (lambda p, e: (p >= e).any(axis=1), "axis=1"),
                  (lambda p, e: (torch.tensor(p) > e).any(dim=0), "eps itself is kept"),
                  (lambda p, e: (p < e).all(axis=0), "skipped mask"), (lambda p, e: p.mean(axis=0) >= e, "mean over the rows"),
                  (lambda p, e: p.sum(axis=0) >= e, "sum over the rows"), (lambda p, e: np.flatnonzero((p >= e).any(axis=0)), "indices"),
                  (lambda p, e: p >= e, "one value per entry"), (lambda p, e: p.max(axis=0), "True/False"),
                  (lambda p, e: (p < e).any(axis=0), "as soon as one row is below eps")],
    },
})


# The corpus's tests come last: parametrize reads LEARNERS when each test is defined


@pytest.mark.parametrize("checker, answer", [(c, a) for c, d in LEARNERS.items() for a in d["right"]],
                         ids=[f"{c.__name__}-{i}" for c, d in LEARNERS.items() for i in range(len(d["right"]))])
def test_learners_right_answers_pass(checker, answer, capsys):
    assert checker(answer) is True, capsys.readouterr().out


@pytest.mark.parametrize("checker, answer, hint", [(c, a, h) for c, d in LEARNERS.items() for a, h in d["wrong"]],
                         ids=[f"{c.__name__}-{h}" for c, d in LEARNERS.items() for _, h in d["wrong"]])
def test_learners_wrong_answers_get_the_hint_that_names_the_mistake(checker, answer, hint, capsys):
    assert checker(answer) is False
    assert hint in capsys.readouterr().out


def test_every_exercise_has_six_wrong_and_three_right_answers():
    """Counted over all the corpora of this file (RIGHT/WRONG tables, LEARNERS, the one-hot and SGD lists)."""
    right = collections.Counter(c for c, _ in ALL_RIGHT)
    wrong = collections.Counter(c for c, *_ in ALL_WRONG)
    for checker, corpus in LEARNERS.items():
        right[checker] += len(corpus["right"])
        wrong[checker] += len(corpus["wrong"])
    right[checks.check_cross_entropy_onehot] += len(ONEHOT_RIGHT)
    wrong[checks.check_cross_entropy_onehot] += len(ONEHOT_WRONG)
    right[checks.check_sgd_step] += 2  # test_sgd_accepts_a_pytorch_answer_that_requires_grad
    for name in (n for n in dir(checks) if n.startswith("check_")):
        checker = getattr(checks, name)
        assert right[checker] >= 3 and wrong[checker] >= 6, (
            f"{name}: {right[checker]} right and {wrong[checker]} wrong answers; every checker needs at least 3 right "
            "answers written differently and 6 wrong ones, each with its hint: add them to LEARNERS in this file")


@pytest.mark.parametrize("name", sorted(n for n in dir(checks) if n.startswith("check_")))
def test_a_checker_called_with_nothing_or_with_a_result_says_what_to_do(name, capsys):
    checker = getattr(checks, name)
    assert checker() is False
    assert re.search(r"give the checker your|replace None", capsys.readouterr().out)
    if checker in FUNCTION_CHECKERS:
        assert checker(np.zeros(3)) is False  # the result of calling the function, not the function
        assert "without calling it" in capsys.readouterr().out


def test_each_notebook_has_its_checker_module():
    """softmax_ce/checks/nbNN_topic.py holds the checkers notebook NN uses; softmax_ce.checks re-exports them."""
    import importlib
    import pathlib

    root = pathlib.Path(checks.__file__).parent
    for notebook in sorted((root.parent.parent).glob("[0-9][0-9]_*.ipynb")):
        module = importlib.import_module(f"softmax_ce.checks.nb{notebook.stem}")
        used = set(re.findall(r"\b(check_\w+)\(", notebook.read_text(encoding="utf-8")))
        assert used, notebook.name
        for name in used:
            assert getattr(module, name, None) is getattr(checks, name), f"{name} (used in {notebook.name}) belongs in {module.__name__}"


@pytest.mark.parametrize("checker", FUNCTION_CHECKERS, ids=[c.__name__ for c in FUNCTION_CHECKERS])
def test_a_tensor_without_data_gets_a_message(checker, capsys):
    """A tensor whose values cannot be read (a meta tensor; on a machine with a GPU, the same path serves CUDA
    tensors, which .cpu() reads) is answered, not a crash."""
    assert checker(lambda *args: torch.ones(3, device="meta")) is False
    assert capsys.readouterr().out.startswith("Not yet: ")


@pytest.mark.parametrize("checker, answer", [
    (checks.check_softmax_rows, lambda x: npF.softmax(np.squeeze(x), dim=-1)),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(np.squeeze(x), np.squeeze(t), reduction=r)),
    (checks.check_combine_stats, lambda M, S, Z: combine_torch(np.squeeze(M), np.squeeze(S), np.squeeze(Z))),
    (checks.check_owner, lambda t, V, P: owner_closed_form(np.squeeze(t), V, P)),
], ids=["softmax_rows", "batch_cross_entropy", "combine_stats", "owner"])
def test_a_batch_of_one_keeps_its_axis(checker, answer, capsys):
    """N = 1: an answer that squeezes the batch axis away is right for N > 1 only."""
    assert checker(answer) is False
    assert "batch of one" in capsys.readouterr().out
