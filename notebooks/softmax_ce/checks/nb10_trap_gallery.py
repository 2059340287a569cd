"""Checkers of notebook 10 (trap_gallery): check_safe_mean_loss, check_onehot_to_indices, check_prior_loss, check_smoothing_conversion."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _close, _expected_got, _run, _verdict

_TRAP_Z = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [0.1, 0.2, 3.9], [1.2, 0.1, 0.3]])
# all counted, half ignored, one counted (dividing by max(count, 2) shows), none counted (0/0)
_TRAP_TARGETS = (np.array([0, 1, 2, 0]), np.array([0, -100, 2, -100]), np.array([-100, 1, -100, -100]),
                 np.array([-100, -100, -100, -100]))


def check_safe_mean_loss(fn=None):
    """Exercise 10.1: ``fn(logits, targets)`` is the mean cross-entropy over the targets that are not -100, and 0.0 (not nan)
    when every target is -100."""
    for t in _TRAP_TARGETS:
        with np.errstate(all="ignore"):
            out, err = _run(fn, _TRAP_Z, t)
        if err:
            return _verdict(False, f"for targets {t.tolist()}: {err}")
        if out.shape != ():
            return _verdict(False, f"expected one number (the mean loss), got shape {out.shape}")
        got = float(out)
        if not (t != -100).any():
            if math.isnan(got):
                return _verdict(False, "every target is -100 and you return nan, the 0/0 of 'mean': "
                                       "divide the sum by max(number of counted targets, 1)")
            if got != 0.0:
                return _verdict(False, f"when every target is ignored nothing counts, so the loss should be 0.0; got {got:.4f}")
            continue
        want = float(npF.cross_entropy(_TRAP_Z, t))
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        per_sample = npF.cross_entropy(_TRAP_Z, t, reduction="none")  # 0 where ignored
        if math.isclose(got, float(per_sample.sum()), rel_tol=1e-6):
            return _verdict(False, "that is the sum; divide it by the number of counted targets")
        if math.isclose(got, float(per_sample.mean()), rel_tol=1e-6):
            return _verdict(False, f"for targets {t.tolist()} you divided by N = {len(t)}, counting the ignored targets; "
                                   "divide by the number of targets that are not -100")
        return _verdict(False, f"for targets {t.tolist()} expected {want:.4f}, got {got:.4f}")
    return _verdict(True, "the mean over counted targets, as CrossEntropyLoss computes it, and 0.0 instead of nan for an all-padding batch.")


def check_onehot_to_indices(fn=None):
    """Exercise 10.2: ``fn(Y)`` turns one-hot (or label-smoothed) rows, shape (N, C), into int64 class indices, shape (N,).

    uint8 is accepted too: ``F.cross_entropy`` takes Long or Byte class indices, and rejects int32 and the other integers."""
    want = np.array([2, 0, 3, 3, 1])
    onehot = np.eye(4)[want]
    smoothed = npF.smoothed_targets(onehot, 0.1)  # 0.9 onehot + 0.1 / 4
    strongly = 0.6 * onehot + 0.4 / 4  # Y @ arange(C), rounded, is the class only by luck for small ε: not here
    for Y, what in ((onehot, "one-hot rows"), (smoothed, "label-smoothed rows such as [0.025, 0.025, 0.925, 0.025]"),
                    (strongly, "strongly smoothed rows such as [0.1, 0.1, 0.7, 0.1]")):
        out, err = _run(fn, Y, as_array=False)
        if err:
            return _verdict(False, err)
        try:
            arr = np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out)  # keeps the integer dtype
        except Exception:  # anything that is not an array of numbers (also tensors without data): a message, not a crash
            return _verdict(False, f"your function returned {type(out).__name__}, not numbers")
        if arr.dtype.kind not in "iufb":
            return _verdict(False, f"your function returned {type(out).__name__} of {arr.dtype}, not numbers")
        if arr.shape == Y.shape:
            return _verdict(False, "you returned rows of shape (N, C), like the one-hot rows themselves; "
                                   "CrossEntropyLoss wants one class index per row, shape (N,)")
        if arr.shape == (len(Y), 1):
            return _verdict(False, f"you returned a column of shape {arr.shape} (keepdims?): CrossEntropyLoss raises "
                                   "'multi-target not supported' for it (trap 7); return shape (N,), e.g. with .squeeze(1)")
        if arr.shape == (Y.shape[1],):
            return _verdict(False, f"expected one index per row, shape ({len(Y)},), got shape {arr.shape}: "
                                   "take the argmax over axis=1 (the classes), not axis=0")
        if arr.shape != want.shape:
            if Y is smoothed:
                return _verdict(False, f"one-hot rows work, but for {what} you return shape {arr.shape}: "
                                       "there is no exact 1 to find; take the largest entry of each row (argmax)")
            return _verdict(False, f"expected one index per row, shape {want.shape}, got shape {arr.shape}")
        if not np.array_equal(arr, want):
            if Y is smoothed:
                return _verdict(False, f"one-hot rows work, but not {what}: take the largest entry of each row (argmax)")
            return _verdict(False, f"expected {want.tolist()}, got {arr.tolist()}")
        if arr.dtype.kind not in "iu":
            return _verdict(False, f"the values are right but their dtype is {arr.dtype}: class indices must be integers "
                                   "(CrossEntropyLoss rejects float targets of shape (N,)); use .astype(np.int64)")
        if arr.dtype not in (np.int64, np.uint8):
            return _verdict(False, f"the values are right but their dtype is {arr.dtype}: use int64 (torch.long): "
                                   "cross_entropy accepts only Long or Byte targets; .astype(np.int64) or .long()")
    return _verdict(True, "argmax over the classes gives int64 indices, for one-hot and for smoothed rows alike.")


def check_prior_loss(fn=None):
    """Exercise 10.3: ``fn(counts)`` is the loss −Σ_c f_c log f_c of a model that predicts the class frequencies f_c = n_c / N."""
    cases = [np.array([25, 25, 25, 25]), np.array([90, 10]), np.array([50, 30, 20, 0])]
    for counts in cases:
        with np.errstate(all="ignore"):
            out, err = _run(fn, counts)
        if err:
            return _verdict(False, f"for counts {counts.tolist()}: {err}")
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        got = float(out)
        f = counts / counts.sum()
        nz = f[f > 0]
        want = float(-(nz * np.log(nz)).sum())
        if _close(got, want):
            continue
        if math.isnan(got):
            return _verdict(False, f"for counts {counts.tolist()} you get nan: a class with count 0 contributes 0 "
                                   "(f log f → 0 as f → 0); skip zero counts")
        if _close(got, -want):
            return _verdict(False, "the sign is flipped: the loss is −Σ f log f, which is >= 0")
        if _close(got, want / math.log(2)) or _close(got, want / math.log(10)):
            return _verdict(False, "use the natural log (np.log), as cross-entropy does")
        if _close(got, math.log(len(counts))):
            return _verdict(False, f"log C = {got:.4f} is the loss of a uniform prediction; for counts {counts.tolist()} "
                                   "predicting the class frequencies does better: −Σ f log f")
        with np.errstate(all="ignore"):
            raw = float(-np.nansum(np.where(counts > 0, counts * np.log(np.where(counts > 0, counts, 1)), 0)))
        if _close(got, raw):
            return _verdict(False, "you used the counts; turn them into frequencies first, f = counts / counts.sum()")
        return _verdict(False, _expected_got(f"for counts {counts.tolist()}", want, got))
    return _verdict(True, "−Σ f log f: log 4 = 1.3863 for four balanced classes, only 0.3251 for a 90/10 split.")


def check_smoothing_conversion(fn=None):
    """Exercise 10.4: ``fn(eps, num_classes)`` is the PyTorch ``label_smoothing`` that gives the targets of the ε/(C − 1) convention."""
    for eps, c in ((0.1, 3), (0.2, 10), (0.1, 2)):
        out, err = _run(fn, eps, c)
        if err:
            return _verdict(False, err)
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        got = float(out)
        want = eps * c / (c - 1)
        if _close(got, want):
            continue
        if _close(got, eps):
            return _verdict(False, f"with label_smoothing = ε = {eps} PyTorch gives the true class 1 − ε + ε/C = {1 - eps + eps / c:.4f}, "
                                   f"not 1 − ε = {1 - eps:.4f}: the two conventions need different values")
        if _close(got, eps * (c - 1) / c):
            return _verdict(False, "inverted: PyTorch's off-target share s/C must equal ε/(C − 1), so s = ε · C / (C − 1)")
        if _close(got, eps / (c - 1)) or _close(got, eps / c):
            return _verdict(False, "that is an off-target probability, not the label_smoothing argument: solve s / C = ε / (C − 1) for s")
        return _verdict(False, _expected_got(f"for ε = {eps}, C = {c}", want, got))
    return _verdict(True, "label_smoothing = ε · C / (C − 1): for ε = 0.1 and C = 3 that is 0.15, true class 0.9, others 0.05.")
