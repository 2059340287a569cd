"""Checkers of notebook 01 (softmax): check_softmax_rows, check_temperature, check_logits_from_probs."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _broadcast_hint, _run, _same, _shape_msg, _verdict

_BATCH = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [1000.0, 999.0, -1000.0], [800.0, 0.0, -800.0]])
# rows 0-1: small logits; row 2: large ones (no max subtracted: exp overflows); row 3: wide (the mean of the row, 0,
# is not enough: exp(800) overflows). 4 x 3, so N != C.


def check_softmax_rows(fn=None):
    """Exercise 01.1: ``fn(Z)`` is the softmax of each row of a 2-D batch of logits Z, stable for large logits."""
    out, err = _run(fn, _BATCH[:2])  # 2 x 3: N != C, so a missing keepdims cannot broadcast by luck
    if err:
        return _verdict(False, _broadcast_hint(err))
    want = npF.softmax(_BATCH[:2], dim=-1)
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if not _same(out, want):
        if np.allclose(out.sum(axis=0), 1):
            return _verdict(False, "each column sums to 1: you normalised over axis=0 (the batch). Sum over axis=-1, keepdims=True")
        if not np.allclose(out.sum(axis=-1), 1):
            return _verdict(False, f"rows should sum to 1 but sum to {np.round(out.sum(axis=-1), 4).tolist()}")
        return _verdict(False, f"rows sum to 1 but the values differ: for [2.0, 1.0, 0.1] expected {np.round(want[0], 4).tolist()}")
    one, err = _run(fn, _BATCH[:1])  # a batch of one row, shape (1, C): squeeze() and friends lose its axis
    if err:
        return _verdict(False, f"for a batch of one row, shape (1, 3): {_broadcast_hint(err)}")
    if np.shape(one) != (1, 3):
        return _verdict(False, f"a batch of one row, shape (1, 3), must stay (1, 3); got {np.shape(one)} "
                               "(did a squeeze() or x[0] drop the batch axis?)")
    with np.errstate(all="ignore"):
        big, err = _run(fn, _BATCH)
    if err:
        return _verdict(False, err)
    finite = np.all(np.isfinite(big), axis=-1)
    if not finite.all():
        if finite[2:].all():
            return _verdict(False, "the large rows work but the small rows give nan (0/0): you subtracted one max for the "
                                   "whole batch. Subtract each row's own max (axis=-1, keepdims=True)")
        if finite[2] and not finite[3]:
            return _verdict(False, "the row [800, 0, -800] gives nan/inf: exp(800) overflows. Subtracting the row's mean "
                                   "(0 here) is not enough: subtract each row's max")
        return _verdict(False, "the row [1000, 999, -1000] gives nan/inf: exp overflows (or underflows to 0/0). Subtract each row's own max first")
    if not _same(big, npF.softmax(_BATCH, dim=-1)):
        return _verdict(False, "small logits work, but the rows [1000, 999, -1000] and [800, 0, -800] give the wrong probabilities")
    return _verdict(True, "rows sum to 1, each row matches npF.softmax(Z, dim=-1), and logits of 1000 do not overflow.")


def check_temperature(fn=None):
    """Exercise 01.2: ``fn(z, T)`` is softmax(z / T) over the last axis, also for a tiny T (z / T in the thousands)."""
    z = np.array([2.0, 1.0, 0.1])
    for T in (0.5, 1.0, 4.0, 0.001):
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, T)
        if err:
            return _verdict(False, err)
        want = npF.softmax(z / T, dim=-1)
        if msg := _shape_msg(out, want):
            return _verdict(False, msg)
        if _same(out, want):
            continue
        if not np.all(np.isfinite(out)):
            return _verdict(False, f"at T={T}, z / T reaches {z.max() / T:.0f} and your result has nan/inf: exp overflows. "
                                   "Subtract the max first, as in exercise 1 (or use a stable softmax)")
        if _same(out, npF.softmax(z * T, dim=-1)):
            return _verdict(False, f"at T={T} you computed softmax(z * T); temperature divides the logits: softmax(z / T)")
        if _same(out, npF.softmax(z, dim=-1)):
            return _verdict(False, f"at T={T} your result is softmax(z), as if T were 1: the logits must be divided by T")
        if _same(out, npF.softmax(z, dim=-1) / T):
            return _verdict(False, f"at T={T} you divided the probabilities by T; divide the logits, before the softmax")
        if not math.isclose(float(np.sum(out)), 1.0, rel_tol=1e-6):
            return _verdict(False, f"at T={T} your probabilities sum to {float(np.sum(out)):.4f}, not 1: normalise by the "
                                   "sum of the same exponentials you put on top")
        return _verdict(False, f"at T={T} expected {np.round(want, 4).tolist()}, got {np.round(out, 4).tolist()}")
    return _verdict(True, "softmax(z / T): T < 1 sharpens, T > 1 flattens the distribution.")


def check_logits_from_probs(fn=None):
    """Exercise 01.3: ``fn(p)`` returns logits z with softmax(z) == p (any constant shift is fine)."""
    p = np.array([0.65900114, 0.24243297, 0.09856589])
    out, err = _run(fn, p)
    if err:
        return _verdict(False, err)
    if msg := _shape_msg(out, p):
        return _verdict(False, msg)
    if not np.all(np.isfinite(out)):
        return _verdict(False, "your logits contain inf or nan")
    if _same(out, p):
        return _verdict(False, "you returned the probabilities themselves; softmax(p) is not p. Which function undoes exp?")
    if _same(out, np.exp(p)):
        return _verdict(False, "you applied exp, but softmax applies exp itself: you need the function that undoes it")
    if _same(out, -np.log(p)):
        return _verdict(False, "softmax(−log p) is not p: mind the sign")
    if _same(out, np.log10(p)) or _same(out, np.log2(p)):
        return _verdict(False, "a log in another base is log(p) times a constant, and softmax is not scale-invariant: "
                               "use the natural log, the inverse of exp")
    if not _same(npF.softmax(out, dim=-1), p, rtol=1e-6):
        return _verdict(False, f"softmax(your logits) = {np.round(npF.softmax(out, dim=-1), 4).tolist()}, not p")
    return _verdict(True, f"softmax(z) == p. Your z is {np.round(out, 4).tolist()}; np.log(p) + c works for every constant c.")
