"""Checkers of notebook 05 (numerical_stability): check_logsumexp_rows, check_log_softmax_rows, check_overflow_threshold."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _broadcast_hint, _mismatch, _number, _run, _same, _shape_msg, _verdict

_EXTREME = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0], [2.0, 1.0, 0.1], [0.0, -800.0, 5.0],
                     [800.0, 0.0, -800.0]])  # a wide row: shifting by the mean (not the max) overflows


def check_logsumexp_rows(fn=None):
    """Exercise 05.1: ``fn(z)`` is log Σ_j exp(z[n, j]) for each row of a 2-D array, exact for ±1000."""
    with np.errstate(all="ignore"):
        out, err = _run(fn, _EXTREME)
    if err:
        return _verdict(False, _broadcast_hint(err))
    want = npF.logsumexp(_EXTREME, dim=1)
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (one value per row)")
    m = _EXTREME.max()
    with np.errstate(all="ignore"):
        global_max = m + np.log(np.exp(_EXTREME - m).sum(axis=1))
    if _same(out, global_max, atol=1e-6) or (np.isfinite(out[0]) and np.isneginf(out[1])):
        return _verdict(False, "the row [-1000, -1000, -1001] gives -inf: you subtracted one max for the whole array "
                               "(1000), so its exps underflow to 0. Subtract each row's own max (axis=1, keepdims=True)")
    if _same(out, want / math.log(10)) or _same(out, want / math.log(2)):
        return _verdict(False, "you used log10 or log2; log-sum-exp uses the natural log, the inverse of exp")
    if np.isposinf(out[0]):
        return _verdict(False, "the row [1000, 1000, 999] gives inf: exp(1000) overflows. Subtract the row's max m, add m back after the log")
    if np.isneginf(out[1]) or np.isnan(out[1]):
        return _verdict(False, "the row [-1000, -1000, -1001] gives -inf/nan: every exp underflows to 0. Subtract the row's max first")
    if _same(out, want - _EXTREME.max(axis=1)):
        return _verdict(False, "you subtracted the max but did not add it back: log Σ exp(z) = m + log Σ exp(z − m)")
    if not np.all(np.isfinite(out)):
        return _verdict(False, "a wide row such as [800, 0, -800] gives inf/nan: shift each row by its max, not by another value")
    if not _same(out, want, rtol=1e-6, atol=1e-6):
        return _verdict(False, _mismatch(out, want))
    shown = "[" + ", ".join(f"{v:.4f}" for v in want) + "]"
    return _verdict(True, f"{shown}: m + log Σ exp(z − m) is exact at both extremes.")


def check_log_softmax_rows(fn=None):
    """Exercise 05.2: ``fn(z)`` is the log-softmax of each row of a 2-D array, finite wherever the logits are."""
    with np.errstate(all="ignore"):
        out, err = _run(fn, _EXTREME)
    if err:
        return _verdict(False, _broadcast_hint(err))
    want = npF.log_softmax(_EXTREME, dim=1)
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if _same(out, npF.softmax(_EXTREME, dim=1)):
        return _verdict(False, "those are the probabilities; the exercise asks for their logarithm, computed without softmax")
    if _same(out, npF.log_softmax(_EXTREME, dim=0)):
        return _verdict(False, "you normalised over axis=0 (the rows of one column): log-softmax runs over each row, axis=1")
    if _same(out, _EXTREME - _EXTREME.max(axis=1, keepdims=True)):
        return _verdict(False, "z − max is only the first step: subtract log Σ exp(z − max) too")
    if not np.all(np.isfinite(out)) and np.all(np.isfinite(out[0])) and not np.all(np.isfinite(out[1])):
        return _verdict(False, "the row [-1000, -1000, -1001] gives -inf/nan: you subtracted one max for the whole array, "
                               "so its exps underflow to 0. Subtract each row's own max (axis=1, keepdims=True)")
    if not np.all(np.isfinite(out)):
        return _verdict(False, "some entries are inf/nan, e.g. for [0, -800, 5]: exp(−805) underflows, so log(softmax) takes log(0). Use z − logsumexp(z)")
    if not _same(out, want, rtol=1e-6, atol=1e-5):
        return _verdict(False, _mismatch(out, want))
    return _verdict(True, "z − logsumexp(z): −805.0067 for the −800 logit, where log(softmax) gives −inf.")


def check_overflow_threshold(threshold=None):
    """Exercise 05.3: the x above which np.exp(np.float32(x)) is inf (log of float32's largest value, ≈ 88.72)."""
    t, err = _number(threshold)
    if err:
        return _verdict(False, err)
    want = float(np.log(np.finfo(np.float32).max))
    if math.isclose(t, float(np.log(np.finfo(np.float64).max)), abs_tol=0.01):
        return _verdict(False, f"{t:.2f} is float64's threshold; ask np.finfo(np.float32)")
    if math.isclose(t, float(np.log(np.finfo(np.float16).max)), abs_tol=0.01):
        return _verdict(False, f"{t:.2f} is float16's threshold; ask np.finfo(np.float32)")
    if math.isclose(t, float(np.finfo(np.float32).max), rel_tol=1e-6):
        return _verdict(False, "that is the largest float32 itself; exp(x) reaches it when x = log(max)")
    # want is a float32 (np.log of a float32): exp is inf from it on. A t that rounds to it in float32 is as good.
    if not (want - 0.005 <= t <= want + 0.001 and np.float32(t) <= np.float32(want)):  # the bounds first: no cast of a huge t
        return _verdict(False, f"np.exp(np.float32({t!r})) is {'finite' if t < want else 'inf'}; the threshold is {'higher' if t < want else 'lower'}")
    return _verdict(True, f"log(3.40e38) = {want:.4f}: in float32, exp(88.72) is finite and exp(88.73) is inf.")
