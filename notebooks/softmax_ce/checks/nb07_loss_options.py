"""Checkers of notebook 07 (loss_options): check_weighted_mean, check_smooth_targets, check_pos_weight."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _run, _same, _shape_msg, _verdict


def check_weighted_mean(fn=None):
    """Exercise 07.1: ``fn(logits, targets, weight)`` is cross_entropy(..., weight=weight) with reduction='mean'."""
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [0.1, 0.2, 3.9], [1.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    t = np.array([0, 0, 2, 1, 1])
    w = np.array([1.0, 3.0, 0.5])
    with np.errstate(all="ignore"):
        out, err = _run(fn, z, t, w)
    if err:
        return _verdict(False, err)
    want = float(npF.cross_entropy(z, t, weight=w))
    if out.shape != ():
        return _verdict(False, f"expected one number, got shape {out.shape}")
    got = float(out)
    per_sample = npF.cross_entropy(z, t, weight=w, reduction="none")
    if math.isclose(got, float(per_sample.mean()), rel_tol=1e-6):
        return _verdict(False, "you divided by N; torch's weighted mean divides by the sum of the targets' weights, Σ w[t_n]")
    if math.isclose(got, float(per_sample.sum()), rel_tol=1e-6):
        return _verdict(False, "that is the sum; divide by Σ w[t_n]")
    if math.isclose(got, float(npF.cross_entropy(z, t)), rel_tol=1e-6):
        return _verdict(False, "the weights are not used: multiply each sample's loss by w[t_n]")
    if math.isclose(got, float(per_sample.sum() / w.sum()), rel_tol=1e-6):
        return _verdict(False, "you divided by the sum of all class weights Σ w; divide by the weights of the samples' "
                               "targets, Σ w[t_n]")
    if not math.isclose(got, want, rel_tol=1e-6):
        return _verdict(False, f"expected {want:.4f}, got {got:.4f}")
    return _verdict(True, f"{want:.4f} = Σ w[t_n] ℓ_n / Σ w[t_n].")


def check_smooth_targets(fn=None):
    """Exercise 07.2: ``fn(targets, num_classes, eps)`` is (1 − ε) onehot + ε / C, shape (N, C)."""
    t, c, eps = np.array([0, 2, 1, 2, 0]), 4, 0.2  # class 3 is in no target: num_classes cannot be guessed from t
    out, err = _run(fn, t, c, eps)
    if err:
        return _verdict(False, err)
    onehot = np.eye(c)[t]
    want = npF.smoothed_targets(onehot, eps)  # (1 − ε) onehot + ε / C
    if _same(out, want.T):
        return _verdict(False, "transposed: one row per target, shape (N, C)")
    if np.shape(out) == (len(t), t.max() + 1):
        return _verdict(False, f"you made {t.max() + 1} columns from the targets, but num_classes is {c}: a class that no "
                               "target uses still gets its ε/C (np.eye(num_classes), F.one_hot(t, num_classes))")
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (N, C)")
    if _same(out, want):
        return _verdict(True, f"the true class keeps {1 - eps + eps / c:.2f}, every other class gets ε/C = {eps / c:.2f}.")
    if _same(out, (1 - eps) * onehot + eps / (c - 1) * (1 - onehot)):
        return _verdict(False, "that is the ε/(C − 1) variant (some papers use it); PyTorch spreads ε/C over all C classes, the true one included")
    if _same(out, onehot + eps / c):
        return _verdict(False, "rows must still sum to 1: scale the one-hot part by (1 − ε)")
    if _same(out, (1 - eps) * onehot):
        return _verdict(False, "the uniform part ε/C is missing")
    if _same(out, (1 - eps) * onehot + eps / len(t)):
        return _verdict(False, "ε is spread over the C classes of each row, not over the N samples")
    if _same(out, (1 - eps) * onehot + eps):
        return _verdict(False, "rows must sum to 1: ε is shared among the C classes, ε/C each")
    return _verdict(False, f"for target 0 expected {np.round(want[0], 4).tolist()}, got {np.round(out[0], 4).tolist()}")


def check_pos_weight(fn=None):
    """Exercise 07.3: ``fn(Y)`` is the per-label pos_weight #negatives / #positives for a 0/1 matrix Y (N, C)."""
    Y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 1]], dtype=float)
    out, err = _run(fn, Y)
    if err:
        return _verdict(False, err)
    pos = Y.sum(axis=0)
    want = (len(Y) - pos) / pos
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (one value per label)")
    if _same(out, want):
        return _verdict(True, f"{np.round(want, 4).tolist()}: the rarer the positives, the larger their weight.")
    if _same(out, 1 / want):
        return _verdict(False, "inverted: pos_weight = #negatives / #positives, so rare positives get a weight above 1")
    if _same(out, len(Y) / pos):
        return _verdict(False, "N / #positives counts the positives themselves; use #negatives / #positives")
    if _same(out, len(Y) - pos) or _same(out, pos):
        return _verdict(False, "those are counts; pos_weight is the ratio #negatives / #positives")
    if _same(out, (len(Y) - pos) / len(Y)) or _same(out, pos / len(Y)):
        return _verdict(False, "that is a fraction of the N samples; pos_weight divides the negatives by the positives")
    return _verdict(False, f"expected {np.round(want, 4).tolist()}")
