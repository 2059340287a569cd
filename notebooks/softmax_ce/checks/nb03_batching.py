"""Checkers of notebook 03 (batching): check_batch_cross_entropy, check_accuracy, check_combine_means."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _is_integer, _numbers, _run, _same, _shape_msg, _verdict

_LOGITS = np.array([[0.1, 0.2, 3.9], [1.2, 0.1, 0.3], [0.3, 2.2, 0.2], [0.9, 0.2, 0.1]])
_TARGETS = np.array([2, 0, 1, 2])
_CE_LOGITS = np.vstack([_LOGITS, [[1000.0, 0.0, -1000.0]]])  # the last row needs a stable log-softmax
_CE_TARGETS = np.append(_TARGETS, 1)


def check_batch_cross_entropy(fn=None):
    """Exercise 03.1: ``fn(logits, targets, reduction)`` for (N, C) logits, (N,) int targets, all 3 reductions."""
    for reduction in ("none", "sum", "mean"):
        with np.errstate(all="ignore"):
            out, err = _run(fn, _CE_LOGITS, _CE_TARGETS, reduction)
        if err:
            return _verdict(False, f"with reduction={reduction!r}: {err}")
        want = npF.cross_entropy(_CE_LOGITS, _CE_TARGETS, reduction=reduction)
        n = len(_CE_TARGETS)
        if np.shape(out) == (n, n):
            return _verdict(False, f"with reduction={reduction!r} you got an N × N array: log_probs[:, targets] takes a whole "
                                   "column per target; pick one entry per row: log_probs[np.arange(N), targets]")
        if msg := _shape_msg(out, want):
            return _verdict(False, f"with reduction={reduction!r}: {msg}")
        if _same(out, want):
            continue
        if not np.all(np.isfinite(out)):
            return _verdict(False, "the row [1000, 0, -1000] gives inf/nan: use a stable log-softmax, z − max − log Σ exp(z − max)")
        per_sample = npF.cross_entropy(_CE_LOGITS, _CE_TARGETS, reduction="none")
        over_batch = npF.logsumexp(_CE_LOGITS, dim=0)[_CE_TARGETS] - _CE_LOGITS[np.arange(n), _CE_TARGETS]
        reduced = {"none": lambda v: v, "sum": np.sum, "mean": np.mean}[reduction]
        if _same(out, reduced(over_batch)):
            return _verdict(False, "you normalised over axis=0 (the batch): the log-sum-exp runs over each row's classes, axis=1")
        if _same(out, -want):
            return _verdict(False, f"with reduction={reduction!r} the sign is flipped: the loss is −log p of the target")
        if reduction == "mean" and _same(out, per_sample.sum() / _CE_LOGITS.shape[1]):
            return _verdict(False, "reduction='mean' divided by the number of classes C; divide the sum by the batch size N")
        if reduction == "mean" and _same(out, per_sample.sum()):
            return _verdict(False, "reduction='mean' returned the sum; divide by the batch size N")
        if reduction == "sum" and _same(out, per_sample.mean()):
            return _verdict(False, "reduction='sum' returned the mean; add the per-sample losses up")
        return _verdict(False, f"with reduction={reduction!r} expected {np.round(want, 4).tolist()}, got {np.round(out, 4).tolist()}")
    one, err = _run(fn, _CE_LOGITS[:1], _CE_TARGETS[:1], "none")  # N = 1: the batch axis must survive
    if err:
        return _verdict(False, f"for a batch of one sample, shape (1, 3): {err}")
    if np.shape(one) != (1,):
        return _verdict(False, f"for a batch of one sample, reduction='none' must give shape (1,), got {np.shape(one)} "
                               "(a squeeze() or x[0] dropped the batch axis?)")
    return _verdict(True, "per-sample losses, their sum and their mean all match npF.cross_entropy.")


def check_accuracy(fn=None):
    """Exercise 03.2: ``fn(logits, targets)`` is the fraction of rows whose argmax equals the target."""
    raw, err = _run(fn, _LOGITS, _TARGETS, as_array=False)
    out, err = (None, err) if err else _numbers(raw)
    if err:
        if "broadcast" in err:
            err += " (your predictions and the targets differ in shape: one argmax per row, over the classes, axis=1)"
        return _verdict(False, err)
    n, c = _LOGITS.shape
    hits = _LOGITS.argmax(axis=1) == _TARGETS
    want = float(np.mean(hits))
    if out.shape == (n,) and np.array_equal(out, hits):
        return _verdict(False, "that is one True/False per row; accuracy is their mean")
    if out.shape != ():
        return _verdict(False, f"expected one number, got shape {out.shape}")
    got = float(out)
    if _is_integer(raw) and got == math.floor(want) != want:
        return _verdict(False, f"{got:g} is {want} rounded down: `//` is integer division; divide with /")
    for value, hint in ((want * n, "that is the number of correct rows; accuracy is the fraction (divide by N)"),
                        (100 * want, "that is a percentage; return the fraction, between 0 and 1"),
                        (want * n / c, "you divided by the number of classes C; divide by the number of rows N"),
                        (float(np.mean(_LOGITS.max(axis=1) == _TARGETS)),
                         "compare the position of the largest logit (argmax) with the target, not its value (max)")):
        if math.isclose(got, value) and not math.isclose(got, want):
            return _verdict(False, hint)
    if not math.isclose(got, want):
        return _verdict(False, f"expected {want:.4f}, got {got:.4f}")
    return _verdict(True, f"accuracy {want:.4f}: 3 of 4 rows have their largest logit at the true class.")


def check_combine_means(fn=None):
    """Exercise 03.3: ``fn(means, sizes)`` turns per-micro-batch mean losses into the full-batch mean."""
    means, sizes = np.array([0.5, 2.0, 1.0]), np.array([4, 1, 3])
    raw, err = _run(fn, means, sizes, as_array=False)
    out, err = (None, err) if err else _numbers(raw)
    if err:
        return _verdict(False, err)
    want = float((means * sizes).sum() / sizes.sum())
    if out.shape != ():
        return _verdict(False, f"expected one number, got shape {out.shape}")
    got = float(out)
    if got == math.floor(want) != want:  # e.g. (m * n).sum() // n.sum(): 0.0 for 0.875
        return _verdict(False, f"{got:g} is {want} rounded down: `//` is integer division; divide with /")
    for value, hint in ((float(means.mean()), "that is the mean of the means; a micro-batch of 1 sample must not count as much as one of 4"),
                        (float((means * sizes).sum()), "that is the total loss of all samples; divide it by how many samples there are"),
                        (float((means * sizes).sum() / len(sizes)), "divide by the number of samples Σ n_k, not by the number of micro-batches"),
                        (float(means.sum()), "that is the sum of the means; weight each mean by its micro-batch's size")):
        if math.isclose(got, value, rel_tol=1e-9):
            return _verdict(False, hint)
    if not math.isclose(got, want, rel_tol=1e-9):
        return _verdict(False, f"expected {want:.4f}, got {got:.4f}")
    return _verdict(True, f"Σ mean_k · n_k / Σ n_k = {want:.4f}, not the mean of means {means.mean():.4f}.")
