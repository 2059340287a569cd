"""Checkers of notebook 02 (cross_entropy): check_cross_entropy_onehot, check_cross_entropy_from_logits, check_true_class_probability."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _expected_got, _number, _run, _verdict


def check_cross_entropy_onehot(fn=None):
    """Exercise 02.1: ``fn(y, p)`` is the mean over the batch of −Σ_c y log p, for one-hot y of shape (N, C).

    N = 4 samples and C = 3 classes differ on purpose: with N = C, summing over the wrong axis or dividing by C
    would give the right number."""
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])  # row 2: true class not the likeliest
    out, err = _run(fn, y, p)
    if err:
        return _verdict(False, err)
    n, c = y.shape
    per_sample = -np.sum(y * np.log(p), axis=1)
    want = float(np.mean(per_sample))
    if out.shape == (c,) and np.allclose(out, -np.sum(y * np.log(p), axis=0)):
        return _verdict(False, "you get one number per class: you summed over axis=0 (the batch). Sum over the "
                               "classes, axis=1, then average over the samples")
    if out.shape == (n,) and np.allclose(out, per_sample):
        return _verdict(False, "these are the per-sample losses: return their mean over the batch")
    if out.shape != ():
        return _verdict(False, f"expected one number (the mean over the batch), got shape {out.shape}")
    got = float(out)
    near_misses = [
        (-want, "the sign is flipped: cross-entropy is −Σ y log p, which is >= 0"),
        (n * want, "you summed over the batch; average over the N samples instead"),
        (n * want / c, "you divided by the number of classes C (p.shape[1]); the mean is over the N samples "
                       "(p.shape[0]): sum over axis=1 first, then average"),
        (want / c, "you averaged over all N × C entries: sum over the classes, then average over the samples"),
        (want / math.log(10), "you used log10; cross-entropy uses the natural log (np.log)"),
        (want / math.log(2), "you used log2 (bits); cross-entropy here uses the natural log (np.log)"),
    ]
    if math.isclose(got, want, rel_tol=1e-6):
        return _verdict(True, f"mean cross-entropy {got:.4f} = (0.3567 + 0.5108 + 1.2040 + 0.6931) / 4.")
    for value, hint in near_misses:
        if math.isclose(got, value, rel_tol=1e-6):
            return _verdict(False, hint)
    return _verdict(False, f"expected {want:.4f}, got {got:.4f}: per sample the losses are "
                           f"{np.round(per_sample, 4).tolist()}")


def check_cross_entropy_from_logits(fn=None):
    """Exercise 02.2: ``fn(z, t)`` is −log softmax(z)[t] for one logit vector z and a class index t, without overflow."""
    cases = [(np.array([2.0, 1.0, 0.1]), 0), (np.array([0.5, 2.0, 0.3]), 0), (np.array([1000.0, 0.0, -1000.0]), 1)]
    for z, t in cases:
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, t)
        if err:
            return _verdict(False, err)
        want = float(npF.cross_entropy(z, np.array(t)))
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        if not np.isfinite(out):
            return _verdict(False, f"for z={z.tolist()} you got {float(out)}: exp overflows, or a probability underflows to 0 inside the log. "
                                   "Work in log space: logsumexp(z) − z[t], with the max subtracted")
        if math.isclose(float(out), -want, rel_tol=1e-6):
            return _verdict(False, "the sign is flipped: the loss is −log p_t = logsumexp(z) − z_t")
        if math.isclose(float(out), want - z.max(), rel_tol=1e-6, abs_tol=1e-9):
            return _verdict(False, "you subtracted the max inside the exp but did not add it back: "
                                   "log Σ exp(z) = m + log Σ exp(z − m)")
        if math.isclose(float(out), math.exp(-want), rel_tol=1e-6):
            return _verdict(False, "that is the probability p_t of the true class; the loss is −log p_t")
        if math.isclose(float(out), want / math.log(10), rel_tol=1e-6) or math.isclose(float(out), want / math.log(2), rel_tol=1e-6):
            return _verdict(False, "you used log10 or log2; cross-entropy uses the natural log (np.log)")
        if not math.isclose(float(out), want, rel_tol=1e-6):
            return _verdict(False, _expected_got(f"for z={z.tolist()}, t={t}", want, float(out)))
    return _verdict(True, "0.4170 and 1.8406 as in torch, and a finite 1000.0 for logits of ±1000.")


def check_true_class_probability(p=None):
    """Exercise 02.3: the probability of the true class that gives a cross-entropy of exactly 1.0."""
    p, err = _number(p)
    if err:
        return _verdict(False, err)
    if math.isclose(p, 0.1, rel_tol=1e-6):
        return _verdict(False, "0.1 gives a loss of 1 with log10, but cross-entropy uses the natural log")
    if not 0 < p <= 1:
        return _verdict(False, f"{p} is not a probability in (0, 1]")
    if not math.isclose(-math.log(p), 1.0, rel_tol=1e-3):
        return _verdict(False, f"−log({p:.4f}) = {-math.log(p):.4f}, not 1.0")
    return _verdict(True, f"p = e^-1 = {p:.4f}: a loss of 1 means the model gave the right class about 37%.")
