"""Checkers of notebook 06 (gradients): check_softmax_jacobian, check_cross_entropy_grad, check_bce_grad."""

import numpy as np

from .. import functional as npF
from ._harness import _mismatch, _run, _same, _shape_msg, _verdict


def check_softmax_jacobian(fn=None):
    """Exercise 06.1: ``fn(z)`` is the C × C Jacobian ∂p_i/∂z_j = p_i (δ_ij − p_j) of softmax at a 1-D z."""
    for z in (np.array([2.0, 1.0, 0.1]), np.array([0.5, -1.0, 3.0, 0.0, 2.0])):
        out, err = _run(fn, z)
        if err:
            return _verdict(False, err)
        p = npF.softmax(z, dim=0)
        want = np.diag(p) - np.outer(p, p)
        if msg := _shape_msg(out, want):
            return _verdict(False, msg + " (C × C)")
        if _same(out, want):
            continue
        if _same(out, -want):
            return _verdict(False, "the sign is flipped: the diagonal p_i (1 − p_i) is positive")
        if _same(out, np.diag(p)):
            return _verdict(False, "only the diagonal: every p_i also depends on the other logits, −p_i p_j off the diagonal")
        if _same(out, np.diag(p * (1 - p))):
            return _verdict(False, "the diagonal p_i (1 − p_i) is right, but the off-diagonal entries −p_i p_j are missing")
        if _same(out, -np.outer(p, p)):
            return _verdict(False, "the off-diagonal −p_i p_j is right, but the diagonal misses its + p_i (δ_ij = 1 there)")
        if _same(out, np.diag(z) - np.outer(z, z)):
            return _verdict(False, "use the probabilities p = softmax(z), not the logits z")
        return _verdict(False, f"for z={z.tolist()}: {_mismatch(out, want)}")
    return _verdict(True, "diag(p) − p pᵀ: symmetric, and each row sums to 0.")


_GRAD_Z = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [0.0, 0.0, 4.0], [1.0, -1.0, 0.0]])
_GRAD_T = np.array([0, 0, 2, 1])


def check_cross_entropy_grad(fn=None):
    """Exercise 06.2: ``fn(logits, targets)`` is ∂ mean-cross-entropy / ∂ logits = (softmax(Z) − Y) / N."""
    out, err = _run(fn, _GRAD_Z, _GRAD_T)
    if err:
        return _verdict(False, err)
    n, c = _GRAD_Z.shape
    onehot = np.eye(c)[_GRAD_T]
    p = npF.softmax(_GRAD_Z, dim=1)
    want = (p - onehot) / n
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (one gradient row per sample)")
    if _same(out, want, rtol=1e-5, atol=1e-7):
        return _verdict(True, "(P − Y) / N: each row sums to 0 and pushes the true class's logit up.")
    if _same(out, p - onehot):
        return _verdict(False, "that is the gradient of the sum; the mean divides it by N")
    if _same(out, -want) or _same(out, onehot - p):
        return _verdict(False, "the sign is flipped: the gradient is p − y (descent then raises the true logit)")
    if _same(out, (_GRAD_Z - onehot) / n):
        return _verdict(False, "use the probabilities p = softmax(z), not the logits, in p − y")
    if _same(out, (p - onehot) / (n * c)) or _same(out, (p - onehot) / c):
        return _verdict(False, "the mean is over the N samples only: divide by N, not by C or N × C")
    if _same(out, p / n):
        return _verdict(False, "the targets are missing: subtract the one-hot y from p")
    if _same(out, (npF.softmax(_GRAD_Z, dim=0) - onehot) / n):
        return _verdict(False, "the softmax runs over each row's classes (axis=1), not over the batch (axis=0)")
    return _verdict(False, _mismatch(out, want))


def check_bce_grad(fn=None):
    """Exercise 06.3: ``fn(x, y)`` is ∂ mean-BCE-with-logits / ∂ x = (σ(x) − y) / x.size."""
    x = np.array([[2.0, -1.0], [0.0, 30.0], [-30.0, 0.5]])
    y = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    with np.errstate(all="ignore"):
        out, err = _run(fn, x, y)
    if err:
        return _verdict(False, err)
    s = npF.sigmoid(x)
    want = (s - y) / x.size
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if _same(out, want):
        return _verdict(True, "(σ(x) − y) / x.size: ±1/x.size for the confident mistakes x = ±30, never 0.")
    if _same(out, s - y):
        return _verdict(False, "that is the gradient of the sum; the mean divides by the number of elements")
    if _same(out, -want):
        return _verdict(False, "the sign is flipped: σ(x) − y")
    if _same(out, (s - y) / len(x)) or _same(out, (s - y) / x.shape[1]):
        return _verdict(False, "the mean runs over all elements (x.size), not just the rows or the columns")
    if _same(out, s * (1 - s) / x.size) or _same(out, s * (1 - s)):
        return _verdict(False, "σ(x)(1 − σ(x)) is the derivative of σ alone; the loss's log cancels it, so the chain rule ends simpler")
    if _same(out, (x - y) / x.size):
        return _verdict(False, "use σ(x), not the logit x itself")
    return _verdict(False, _mismatch(out, want))
