"""Exercise checkers. Each one prints "Correct" or exactly what is wrong, returns True/False, and never crashes.

A checker calls the learner's function on fixed inputs, compares with ``softmax_ce.functional`` and,
when the answer is wrong, looks for the usual mistake (wrong axis, overflow, a missing minus sign...)
so the message says what to fix. Exercises use ``passed = check_x(my_fn)``; solutions ``assert check_x(...)``.
"""

import math

import numpy as np

from . import functional as npF
from . import metrics

NOT_DONE = "your function raised NotImplementedError: replace `raise NotImplementedError` with your code"


def _verdict(ok, message):
    print(("Correct! " if ok else "Not yet: ") + message)
    return ok


def _numbers(value):
    """Any value a learner's function returns, as (float64 array, None) or (None, what it is instead). Never raises.

    Tensors (also ones that require grad, or live on another device) and lists or tuples of them become arrays;
    strings, dicts, None and the like are named, not converted ("0" is not a number)."""
    if value is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(value, (str, bytes)):
        return None, f"your function returned the string {value!r}, not numbers"
    if isinstance(value, (dict, set)):
        return None, f"your function returned a {type(value).__name__}, not numbers (an array, a tensor or a number)"
    if hasattr(value, "detach"):  # a torch tensor: leave autograd and the GPU behind
        value = value.detach().cpu().numpy()
    elif isinstance(value, (list, tuple)):
        parts = [_numbers(v) for v in value]
        if any(err for _, err in parts):
            return None, next(err for _, err in parts if err).replace("your function returned", "your function returned a list with")
        value = [v for v, _ in parts]
    try:
        return np.asarray(value, dtype=np.float64), None
    except Exception:  # ragged lists, objects, ...: say what it was
        return None, f"your function returned {type(value).__name__}, not an array of numbers"


def _run(fn, *args, as_array=True):
    """(result as a float array, None) or (None, what went wrong). ``as_array=False`` keeps the result as it is."""
    if not callable(fn):
        return None, f"expected a function, got {type(fn).__name__}"
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]  # an in-place answer must not corrupt ours
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, NOT_DONE
    except Exception as e:  # a checker reports the learner's error instead of crashing the notebook
        return None, f"your function raised {type(e).__name__}: {e}"
    if out is None:
        return None, "your function returned None: did you forget `return`?"
    if not as_array:
        return out, None
    return _numbers(out)


def _number(answer):
    """A learner's numeric answer as (float, None), or (None, what is wrong with it)."""
    if answer is None:
        return None, "replace None with your answer, a number"
    if isinstance(answer, bool) or isinstance(answer, (str, bytes)):
        return None, f"expected a number, got {type(answer).__name__} {answer!r}"
    value, err = _numbers(answer)
    if err or value.size != 1:
        return None, f"expected a number, got {type(answer).__name__}" + (f" of shape {value.shape}" if value is not None else "")
    return float(value.reshape(-1)[0]), None


def _same(a, b, rtol=1e-6, atol=1e-9):
    return a is not None and np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=rtol, atol=atol)


def _mismatch(out, want, what="row"):
    """Where the largest difference is, with both values, and a hint when it is only float32 rounding."""
    diff = np.abs(np.asarray(out, dtype=np.float64) - want)
    diff = np.where(np.isnan(diff), np.inf, diff)
    at = np.unravel_index(np.argmax(diff), diff.shape)
    if want.ndim > 1:
        row = at[:1]
        msg = (f"largest difference {diff[at]:.2g} in {what} {at[0]}: expected {np.round(want[row], 4).tolist()}, "
               f"got {np.round(np.asarray(out)[row], 4).tolist()}")
    else:
        msg = f"largest difference {diff[at]:.2g}: expected {np.round(want, 4).tolist()}, got {np.round(out, 4).tolist()}"
    if diff[at] < 1e-4 * max(1.0, float(np.abs(want[at]))):
        msg += " (very close: float32 rounding? compute in float64)"
    return msg


def _shape_msg(out, expected):
    if np.shape(out) != np.shape(expected):
        return f"expected an output of shape {np.shape(expected)}, got {np.shape(out)}"
    return None


# ----------------------------------------------------------------------------- 01_softmax

_BATCH = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [1000.0, 999.0, -1000.0], [800.0, 0.0, -800.0]])
# rows 0-1: small logits; row 2: large ones (no max subtracted: exp overflows); row 3: wide (the mean of the row, 0,
# is not enough: exp(800) overflows). 4 x 3, so N != C.


def _broadcast_hint(err):
    """A learner's broadcasting error, with the fix it usually needs."""
    if "broadcast" in err or "must match the size" in err:
        return err + " (a reduced axis must be kept for broadcasting: keepdims=True in NumPy, keepdim=True in torch)"
    return err


def check_softmax_rows(fn):
    """Exercise 01.1: ``fn(x)`` is the softmax of each row of a 2-D batch, stable for large logits."""
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
    return _verdict(True, "rows sum to 1, each row matches npF.softmax(x, dim=-1), and logits of 1000 do not overflow.")


def check_temperature(fn):
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


def check_logits_from_probs(fn):
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


# ----------------------------------------------------------------------------- 02_cross_entropy


def check_cross_entropy_onehot(fn):
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


def check_cross_entropy_from_logits(fn):
    """Exercise 02.2: ``fn(z, y)`` is −log softmax(z)[y] for one logit vector z and a class index y, without overflow."""
    cases = [(np.array([2.0, 1.0, 0.1]), 0), (np.array([0.5, 2.0, 0.3]), 0), (np.array([1000.0, 0.0, -1000.0]), 1)]
    for z, y in cases:
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, y)
        if err:
            return _verdict(False, err)
        want = float(npF.cross_entropy(z, np.array(y)))
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        if not np.isfinite(out):
            return _verdict(False, f"for z={z.tolist()} you got {float(out)}: exp overflows, or a probability underflows to 0 inside the log. "
                                   "Work in log space: logsumexp(z) − z[y], with the max subtracted")
        if math.isclose(float(out), -want, rel_tol=1e-6):
            return _verdict(False, "the sign is flipped: the loss is −log p_y = logsumexp(z) − z_y")
        if math.isclose(float(out), want - z.max(), rel_tol=1e-6, abs_tol=1e-9):
            return _verdict(False, "you subtracted the max inside the exp but did not add it back: "
                                   "log Σ exp(z) = m + log Σ exp(z − m)")
        if math.isclose(float(out), math.exp(-want), rel_tol=1e-6):
            return _verdict(False, "that is the probability p_y of the true class; the loss is −log p_y")
        if math.isclose(float(out), want / math.log(10), rel_tol=1e-6) or math.isclose(float(out), want / math.log(2), rel_tol=1e-6):
            return _verdict(False, "you used log10 or log2; cross-entropy uses the natural log (np.log)")
        if not math.isclose(float(out), want, rel_tol=1e-6):
            return _verdict(False, f"for z={z.tolist()}, y={y} expected {want:.4f}, got {float(out):.4f}")
    return _verdict(True, "0.4170 and 1.8406 as in torch, and a finite 1000.0 for logits of ±1000.")


def check_true_class_probability(p):
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


# ----------------------------------------------------------------------------- 03_batching

_LOGITS = np.array([[0.1, 0.2, 3.9], [1.2, 0.1, 0.3], [0.3, 2.2, 0.2], [0.9, 0.2, 0.1]])
_TARGETS = np.array([2, 0, 1, 2])
_CE_LOGITS = np.vstack([_LOGITS, [[1000.0, 0.0, -1000.0]]])  # the last row needs a stable log-softmax
_CE_TARGETS = np.append(_TARGETS, 1)


def check_batch_cross_entropy(fn):
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
    return _verdict(True, "per-sample losses, their sum and their mean all match npF.cross_entropy.")


def check_accuracy(fn):
    """Exercise 03.2: ``fn(logits, targets)`` is the fraction of rows whose argmax equals the target."""
    out, err = _run(fn, _LOGITS, _TARGETS)
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


def check_combine_means(fn):
    """Exercise 03.3: ``fn(means, sizes)`` turns per-micro-batch mean losses into the full-batch mean."""
    means, sizes = np.array([0.5, 2.0, 1.0]), np.array([4, 1, 3])
    out, err = _run(fn, means, sizes)
    if err:
        return _verdict(False, err)
    want = float((means * sizes).sum() / sizes.sum())
    if out.shape != ():
        return _verdict(False, f"expected one number, got shape {out.shape}")
    got = float(out)
    for value, hint in ((float(means.mean()), "that is the mean of the means; a micro-batch of 1 sample must not count as much as one of 4"),
                        (float((means * sizes).sum()), "that is the total loss of all samples; divide it by how many samples there are"),
                        (float((means * sizes).sum() / len(sizes)), "divide by the number of samples Σ n_k, not by the number of micro-batches"),
                        (float(means.sum()), "that is the sum of the means; weight each mean by its micro-batch's size")):
        if math.isclose(got, value, rel_tol=1e-9):
            return _verdict(False, hint)
    if not math.isclose(got, want, rel_tol=1e-9):
        return _verdict(False, f"expected {want:.4f}, got {got:.4f}")
    return _verdict(True, f"Σ mean_k · n_k / Σ n_k = {want:.4f}, not the mean of means {means.mean():.4f}.")


# ----------------------------------------------------------------------------- 04_binary_vs_multiclass


def check_bce_with_logits(fn):
    """Exercise 04.1: ``fn(x, y)`` is the mean binary cross-entropy on logits, exact even for |x| = 1000."""
    x = np.array([0.5, -1.0, 3.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    with np.errstate(all="ignore"):
        out, err = _run(fn, x, y)
    if err:
        return _verdict(False, err)
    want = float(npF.binary_cross_entropy_with_logits(x, y))
    if out.shape != ():
        return _verdict(False, f"expected one number (the mean), got shape {out.shape}")
    if not np.isfinite(out):
        return _verdict(False, "the logits ±1000 give inf/nan: σ(1000) rounds to 1, and log(1 − σ) is log 0. Compute "
                               "log σ(x) without forming σ(x) first (notebook 05's log-sum-exp trick, or np.logaddexp)")
    clamped = float(npF.binary_cross_entropy(npF.sigmoid(x), y))
    if math.isclose(float(out), clamped, rel_tol=1e-9):
        return _verdict(False, f"{float(out):.4f} is the clamped value of BCELoss(sigmoid(x)); the exact loss is {want:.4f}")
    per_sample = npF.binary_cross_entropy_with_logits(x, y, reduction="none")
    swapped = float(npF.binary_cross_entropy_with_logits(x, 1 - y))
    for value, hint in ((-want, "the sign is flipped: the loss is −[y log σ(x) + (1 − y) log(1 − σ(x))], which is >= 0"),
                        (float(per_sample.sum()), "that is the sum over the samples; return the mean"),
                        (swapped, "the two terms are swapped: for y = 1 the loss is −log σ(x), for y = 0 it is −log(1 − σ(x))")):
        if math.isclose(float(out), value, rel_tol=1e-6):
            return _verdict(False, hint)
    if float(out) < want - 1:
        return _verdict(False, f"{float(out):.4f} is too small: the confident mistake x = 1000, y = 0 alone costs exactly "
                               "1000 / 5 of the mean. Clipping probabilities (an eps) caps it: stay with logits")
    if not math.isclose(float(out), want, rel_tol=1e-6):
        return _verdict(False, f"expected {want:.4f}, got {float(out):.4f}")
    return _verdict(True, f"{want:.4f}, including the exact 1000.0 for the confident mistake x = 1000, y = 0.")


_LOSS_CHOICE = {
    "spam or not spam": "BCEWithLogitsLoss",
    "which of 10 digits": "CrossEntropyLoss",
    "which of 20 tags a photo has (any number of them)": "BCEWithLogitsLoss",
}


def check_loss_choice(answers):
    """Exercise 04.2: ``answers`` maps each task in ``LOSS_TASKS`` to the name of a torch.nn loss class."""
    if not isinstance(answers, dict):
        return _verdict(False, f"expected a dict from task to loss name, got {type(answers).__name__}")
    missing = [task for task in _LOSS_CHOICE if task not in answers]
    if missing:
        return _verdict(False, f"no answer for {missing[0]!r}")
    two_logits = False
    for task, want in _LOSS_CHOICE.items():
        answer = answers[task]
        if isinstance(answer, type) or hasattr(answer, "forward"):  # the class nn.X itself, or an instance nn.X()
            answer = answer.__name__ if isinstance(answer, type) else type(answer).__name__
        got = str(answer).strip().removesuffix("()").split(".")[-1]  # "torch.nn.X()", "nn.X" or "X"
        if task == "spam or not spam" and got == "CrossEntropyLoss":
            two_logits = True  # also right: two logits + CrossEntropyLoss = one logit + BCEWithLogitsLoss (section 3)
            continue
        if got in ("BCELoss", "NLLLoss"):
            return _verdict(False, f"{task!r}: {got} needs probabilities / log-probabilities from an extra layer; pick the loss that takes logits")
        if got != want:
            return _verdict(False, f"{task!r}: {got} is not the usual choice; think about how many labels one example can have")
    note = " (CrossEntropyLoss on two logits works for spam too; one logit + BCEWithLogitsLoss is the usual choice.)" if two_logits else ""
    return _verdict(True, "one label of two: BCEWithLogitsLoss; one of many: CrossEntropyLoss; several at once: BCEWithLogitsLoss per label." + note)


LOSS_TASKS = tuple(_LOSS_CHOICE)


def check_sigmoid_logit(fn):
    """Exercise 04.3: ``fn(z)`` maps two-class logits (N, 2) to one logit s (N,) with σ(s) = softmax(z)[:, 1]."""
    z = np.array([[2.0, 1.0], [0.5, 2.0], [-3.0, 4.0]])
    out, err = _run(fn, z)
    if err:
        return _verdict(False, err)
    want = z[:, 1] - z[:, 0]
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if _same(out, -want):
        return _verdict(False, "the sign is flipped: σ(z1 − z0) is the probability of class 1")
    if _same(out, npF.softmax(z, dim=1)[:, 1]):
        return _verdict(False, "that is the probability of class 1; the exercise asks for a logit s whose σ(s) is that probability")
    if not _same(npF.sigmoid(out), npF.softmax(z, dim=1)[:, 1]):
        return _verdict(False, "σ(your logit) does not equal the softmax probability of class 1")
    return _verdict(True, "s = z1 − z0: a two-class softmax is a sigmoid of the logit difference.")


# ----------------------------------------------------------------------------- 05_numerical_stability

_EXTREME = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0], [2.0, 1.0, 0.1], [0.0, -800.0, 5.0],
                     [800.0, 0.0, -800.0]])  # a wide row: shifting by the mean (not the max) overflows


def check_logsumexp_rows(fn):
    """Exercise 05.1: ``fn(x)`` is log Σ_j exp(x[n, j]) for each row of a 2-D array, exact for ±1000."""
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
        return _verdict(False, "you subtracted the max but did not add it back: log Σ exp(x) = m + log Σ exp(x − m)")
    if not np.all(np.isfinite(out)):
        return _verdict(False, "a wide row such as [800, 0, -800] gives inf/nan: shift each row by its max, not by another value")
    if not _same(out, want, rtol=1e-6, atol=1e-6):
        return _verdict(False, _mismatch(out, want))
    return _verdict(True, f"{np.round(want, 4).tolist()}: m + log Σ exp(x − m) is exact at both extremes.")


def check_log_softmax_rows(fn):
    """Exercise 05.2: ``fn(x)`` is the log-softmax of each row of a 2-D array, finite wherever the logits are."""
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
        return _verdict(False, "x − max is only the first step: subtract log Σ exp(x − max) too")
    if not np.all(np.isfinite(out)):
        return _verdict(False, "some entries are inf/nan, e.g. for [0, -800, 5]: exp(−805) underflows, so log(softmax) takes log(0). Use x − logsumexp(x)")
    if not _same(out, want, rtol=1e-6, atol=1e-5):
        return _verdict(False, _mismatch(out, want))
    return _verdict(True, "x − logsumexp(x): −805.0067 for the −800 logit, where log(softmax) gives −inf.")


def check_overflow_threshold(threshold):
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
    if not math.isclose(t, want, abs_tol=0.005):
        return _verdict(False, f"np.exp(np.float32({t:.2f})) is {'finite' if t < want else 'inf'}; the threshold is {'higher' if t < want else 'lower'}")
    return _verdict(True, f"log(3.40e38) = {want:.4f}: in float32, exp(88.72) is finite and exp(88.73) is inf.")


# ----------------------------------------------------------------------------- 06_gradients


def check_softmax_jacobian(fn):
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


def check_cross_entropy_grad(fn):
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


def check_bce_grad(fn):
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


# ----------------------------------------------------------------------------- 07_loss_options


def check_weighted_mean(fn):
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
        return _verdict(False, "you divided by N; torch's weighted mean divides by the sum of the targets' weights, Σ w[y_n]")
    if math.isclose(got, float(per_sample.sum()), rel_tol=1e-6):
        return _verdict(False, "that is the sum; divide by Σ w[y_n]")
    if math.isclose(got, float(npF.cross_entropy(z, t)), rel_tol=1e-6):
        return _verdict(False, "the weights are not used: multiply each sample's loss by w[y_n]")
    if math.isclose(got, float(per_sample.sum() / w.sum()), rel_tol=1e-6):
        return _verdict(False, "you divided by the sum of all class weights Σ w; divide by the weights of the samples' "
                               "targets, Σ w[y_n]")
    if not math.isclose(got, want, rel_tol=1e-6):
        return _verdict(False, f"expected {want:.4f}, got {got:.4f}")
    return _verdict(True, f"{want:.4f} = Σ w[y_n] ℓ_n / Σ w[y_n].")


def check_smooth_targets(fn):
    """Exercise 07.2: ``fn(targets, num_classes, eps)`` is (1 − ε) onehot + ε / C, shape (N, C)."""
    t, c, eps = np.array([0, 2, 1, 2, 3]), 4, 0.2
    out, err = _run(fn, t, c, eps)
    if err:
        return _verdict(False, err)
    onehot = np.eye(c)[t]
    want = (1 - eps) * onehot + eps / c
    if _same(out, want.T):
        return _verdict(False, "transposed: one row per target, shape (N, C)")
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


def check_pos_weight(fn):
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


# ----------------------------------------------------------------------------- 08_training_a_classifier


def _sgd_reference(W, b, X, y, lr):
    dZ = (npF.softmax(X @ W.T + b, dim=1) - np.eye(W.shape[0])[y]) / len(y)
    return W - lr * dZ.T @ X, b - lr * dZ.sum(axis=0), dZ


def check_sgd_step(fn):
    """Exercise 08.1: ``fn(W, b, X, y, lr)`` returns (W, b) after one SGD step on the mean cross-entropy of softmax(X Wᵀ + b)."""
    rng = np.random.default_rng(8)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    X, y, lr = rng.normal(size=(6, 2)), np.array([0, 1, 1, 0, 1, 0]), 0.5  # class 2 is absent from this batch
    out, err = _run(fn, W, b, X, y, lr, as_array=False)
    if err:
        return _verdict(False, err)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return _verdict(False, "return the pair (new_W, new_b)")
    (new_W, err_W), (new_b, err_b) = (_numbers(v) for v in out)
    if err_W or err_b:
        return _verdict(False, "(new_W, new_b) must be arrays of numbers: " + (err_W or err_b).replace("your function returned", "got"))
    want_W, want_b, dZ = _sgd_reference(W, b, X, y, lr)
    if new_W.shape != W.shape or new_b.shape != b.shape:
        return _verdict(False, f"new_W must keep shape {W.shape} and new_b shape {b.shape}; got {new_W.shape} and {new_b.shape}")
    if _same(new_W, want_W) and _same(new_b, want_b):
        return _verdict(True, "W −= lr · (P − Y)ᵀX / N and b −= lr · Σ_n (P − Y)_n / N.")
    if _same(new_W, W + lr * dZ.T @ X):
        return _verdict(False, "W moved up the gradient: subtract lr times the gradient")
    if _same(new_W, W - lr * len(y) * dZ.T @ X):
        return _verdict(False, "that step uses the gradient of the summed loss; the mean divides (P − Y) by N")
    if _same(new_W, want_W) and _same(new_b, b):
        return _verdict(False, "W is right but b did not move: its gradient is the sum over samples of (P − Y) / N")
    if not _same(new_W, want_W):
        return _verdict(False, f"new_W is off: the gradient is (P − Y)ᵀ X / N, shape {W.shape}; expected row 0 {np.round(want_W[0], 4).tolist()}")
    return _verdict(False, f"new_b is off: expected {np.round(want_b, 4).tolist()}")


def check_ece(fn):
    """Exercise 08.2: ``fn(confidences, correct, n_bins)`` is the expected calibration error over equal-width bins."""
    rng = np.random.default_rng(80)
    conf = np.concatenate([rng.uniform(0.3, 1.0, size=200), [0.0, 1.0, 1.0, 0.5, 0.7]])  # exact 0, 1 and bin edges
    correct = rng.random(205) < np.where(conf > 0.6, conf ** 3, np.sqrt(conf))  # under- and overconfident bins
    for n_bins in (7, 10):
        out, err = _run(fn, conf, correct, n_bins)
        if err:
            return _verdict(False, err)
        want = metrics.expected_calibration_error(conf, correct, n_bins)
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        if not math.isclose(float(out), want, rel_tol=1e-6):
            break
    else:
        return _verdict(True, f"ECE = Σ_b (n_b / N) |acc_b − conf_b| = {want:.4f} for these predictions.")
    got = float(out)
    if n_bins == 7 and math.isclose(got, metrics.expected_calibration_error(conf, correct, 10), rel_tol=1e-6):
        return _verdict(False, "with n_bins=7 you still used 10 bins: use the n_bins argument")
    count, mean_conf, acc = metrics.reliability_bins(conf, correct, n_bins)
    used = count > 0
    if math.isclose(got, float(np.mean(np.abs(acc[used] - mean_conf[used]))), rel_tol=1e-6):
        return _verdict(False, "you averaged the bins equally; weight each bin's gap by its share of the samples, n_b / N")
    if math.isclose(got, abs(float(correct.mean()) - float(conf.mean())), rel_tol=1e-6):
        return _verdict(False, "that is |accuracy − mean confidence| over all predictions; compare them bin by bin")
    return _verdict(False, f"with n_bins={n_bins} expected {want:.4f}, got {got:.4f} "
                           "(bins are (b/B, (b+1)/B]: is a confidence of exactly 1.0, or of 0, counted?)")


def check_temperature_accuracy(change):
    """Exercise 08.3: by how much does temperature scaling (any T > 0) change the accuracy? (0)"""
    value, err = _number(change)
    if err:
        return _verdict(False, err)
    if value != 0:
        return _verdict(False, "dividing every logit of a row by the same T > 0 keeps their order, so what happens to the argmax?")
    return _verdict(True, "0: z / T keeps the order of the logits, so every prediction, and the accuracy, stays the same.")


# ----------------------------------------------------------------------------- 09_large_vocabulary


def check_merge_stats(fn):
    """Exercise 09.1: ``fn(m1, s1, m2, s2)`` merges two (max, Σ exp(x − max)) block summaries into one."""
    from .large_vocab import merge_logsumexp_stats

    cases = [(2.0, 1.5, 5.0, 1.2), (5.0, 1.2, 2.0, 1.5), (-1.0, 3.0, -1.0, 2.0), (-np.inf, 0.0, 3.0, 1.0),
             (-np.inf, 0.0, -np.inf, 0.0), (700.0, 1.0, 705.0, 2.0)]
    for m1, s1, m2, s2 in cases:
        with np.errstate(all="ignore"):
            out, err = _run(fn, m1, s1, m2, s2, as_array=False)
        if err:
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}): {err}")
        try:
            m, s = (float(v) for v in out)
        except (TypeError, ValueError):
            return _verdict(False, "return the pair (m, s)")
        want_m, want_s = (float(v) for v in merge_logsumexp_stats(np.float64(m1), np.float64(s1), np.float64(m2), np.float64(s2)))
        if not _close(m, want_m):  # float32 answers (a torch tensor) are right too
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) the merged max is {want_m}, got {m}")
        if math.isnan(s):
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) s is nan: an empty block (m = −inf) must add nothing")
        if math.isclose(s, s1 + s2) and not math.isclose(want_s, s1 + s2):
            return _verdict(False, "the sums were added as they are; rescale each by e^(m_i − m) to the new max first")
        if not _close(s, want_s):
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) expected s = {want_s:.6f}, got {s:.6f}")
    return _verdict(True, "m = max(m1, m2), s = s1·e^(m1 − m) + s2·e^(m2 − m); empty blocks add nothing.")


def check_chunk_rows(fn):
    """Exercise 09.2: ``fn(vocab_size, bytes_per_number, budget_mb)`` is the most rows whose logits fit the budget."""
    cases = [(32768, 4, 32), (128000, 2, 100), (256000, 4, 1), (50257, 4, 64), (262144, 4, 0.5)]
    for v, nbytes, budget in cases:
        out, err = _run(fn, v, nbytes, budget, as_array=False)
        if err:
            return _verdict(False, err)
        want = max(1, int(budget * 2**20 // (v * nbytes)))
        try:
            got = int(out)
        except (TypeError, ValueError, OverflowError):
            return _verdict(False, f"expected a whole number of rows, got {out!r}")
        if got != out:
            return _verdict(False, f"expected a whole number of rows, got {out}: round down")
        if got < 1:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MB you return {got}: a chunk has at least 1 row")
        if got == budget * 10**6 // (v * nbytes) and got != want:
            return _verdict(False, "1 MB is 2**20 bytes here, not 10**6")
        if got == want + 1:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MB: {got} rows do not fit; round down")
        if got != want:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MB: expected {want} rows, got {got}")
    return _verdict(True, "c = ⌊budget / (V · bytes)⌋ rows, at least 1: 256 rows of a 32k float32 vocabulary in 32 MB.")


# ----------------------------------------------------------------------------- 10_trap_gallery

_TRAP_Z = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [0.1, 0.2, 3.9], [1.2, 0.1, 0.3]])
# all counted, half ignored, one counted (dividing by max(count, 2) shows), none counted (0/0)
_TRAP_TARGETS = (np.array([0, 1, 2, 0]), np.array([0, -100, 2, -100]), np.array([-100, 1, -100, -100]),
                 np.array([-100, -100, -100, -100]))


def _close(got, want):
    """Equal up to float32 rounding: a float32 (torch or NumPy) answer is right too."""
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)


def _expected_got(what, want, got):
    """'for ... expected X, got Y', with the float32 hint of ``_mismatch`` when the two are very close."""
    msg = f"{what} expected {want:.4f}, got {got:.4f}"
    if abs(got - want) < 1e-4 * max(1.0, abs(want)):
        msg += " (very close: float32 rounding? compute in float64)"
    return msg


def check_safe_mean_loss(fn):
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


def check_onehot_to_indices(fn):
    """Exercise 10.2: ``fn(Y)`` turns one-hot (or label-smoothed) rows, shape (N, C), into int64 class indices, shape (N,).

    uint8 is accepted too: ``F.cross_entropy`` takes Long or Byte class indices, and rejects int32 and the other integers."""
    want = np.array([2, 0, 3, 3, 1])
    onehot = np.eye(4)[want]
    smoothed = 0.9 * onehot + 0.1 / 4
    for Y, what in ((onehot, "one-hot rows"), (smoothed, "label-smoothed rows such as [0.025, 0.025, 0.925, 0.025]")):
        out, err = _run(fn, Y, as_array=False)
        if err:
            return _verdict(False, err)
        if hasattr(out, "detach"):
            out = out.detach().numpy()
        try:
            arr = np.asarray(out)
        except (TypeError, ValueError):
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


def check_prior_loss(fn):
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


def check_smoothing_conversion(fn):
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
