"""NumPy twins of ``torch.nn.functional``: same names, keyword arguments, defaults and shapes.

Swap ``F.cross_entropy`` (torch) for ``npF.cross_entropy`` (ours) and back: every function here is
tested against its torch twin in ``tests/unit/test_functional.py``. All of them are numerically stable
(logits of +-1e4 give finite, correct results) and reject bad input with a ``ValueError`` or
``TypeError`` that names the problem instead of returning a silently wrong number.

float32 input gives float32 output and float64 gives float64, as in torch.
"""

import numpy as np

from . import validation as check
from .validation import REDUCTIONS  # noqa: F401  (part of this module's interface)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum(dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss.sum(dtype=loss.dtype) / loss.dtype.type(loss.size)  # empty input: nan, as in torch


# ----------------------------------------------------------------------------- softmax family


def logsumexp(input, dim, keepdim=False):
    """log Σ_j exp(x_j) over ``dim``, computed as m + log Σ_j exp(x_j − m) with m = max_j x_j (notebook 01).

    ``dim`` may be an int or a tuple of ints. All −inf gives −inf, any +inf gives +inf, as in torch.
    """
    x = check.float_array(input, "input")
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if not dims:
        raise ValueError("dim must name at least one dimension")
    dims = tuple(check.dim_index(d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"dim {dim} names the same dimension twice")
    if x.ndim == 0:
        return x.copy()
    m = np.max(x, axis=dims, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)  # all −inf (or +inf present): shift by 0 instead of nan
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dims)


def softmax(input, dim, dtype=None):
    """softmax(x)_i = exp(x_i − max x) / Σ_j exp(x_j − max x) along ``dim`` (notebook 01).

    Subtracting the max changes nothing mathematically and keeps exp from overflowing. A slice that is
    entirely −inf (fully masked) gives nan, as in torch.
    """
    x = check.float_array(input, "input")
    x = x.astype(dtype) if dtype is not None else x
    axis = check.dim_index(dim, x.ndim)
    if x.ndim == 0:
        return np.ones_like(x)
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(input, dim, dtype=None):
    """log softmax(x)_i = (x_i − m) − log Σ_j exp(x_j − m), m = max_j x_j, along ``dim`` (notebook 02): finite where
    log(softmax(x)) is −inf. Subtracting m first keeps float32's precision: x − (m + log s) rounds m + log s at
    the scale of m (at x = [2e4, 2e4] that gives −0.69336 for −0.69315), as torch's kernel does not."""
    x = check.float_array(input, "input")
    x = x.astype(dtype) if dtype is not None else x
    axis = check.dim_index(dim, x.ndim)
    if x.ndim == 0:
        return np.zeros_like(x)
    m = np.max(x, axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(m), m, 0)  # all −inf (or +inf present): shift by 0; the result is nan, as torch
    with np.errstate(invalid="ignore", divide="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid(input):
    """σ(x) = 1 / (1 + exp(−x)), evaluated as 1/(1+e^{−|x|}) or e^{−|x|}/(1+e^{−|x|}) so exp never overflows (notebook 04)."""
    x = check.float_array(input, "input")
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype)


def logsigmoid(input):
    """log σ(x) = min(x, 0) − log(1 + exp(−|x|)) (notebook 04)."""
    x = check.float_array(input, "input")
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


# ----------------------------------------------------------------------------- multiclass losses


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """ℓ_n = −w_{y_n} · input[n, y_n], where input holds log-probabilities (notebook 02).

    'mean' divides by Σ_n w_{y_n} over the targets that are not ``ignore_index`` (a weighted mean);
    when every target is ignored that is 0/0 and the result is nan, as in torch.
    """
    logp = check.float_array(input, "input")
    check.reduction(reduction)
    class_dim, batch_shape = check.split_class_dim(logp)
    n_classes = logp.shape[class_dim]
    t = check.class_indices(target, batch_shape, n_classes, ignore_index)
    w = check.class_weight(weight, n_classes, logp.dtype)
    keep = t != ignore_index
    safe_t = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, np.expand_dims(safe_t, class_dim), axis=class_dim).squeeze(class_dim)
    w_n = np.where(keep, w[safe_t], 0).astype(logp.dtype)
    loss = -w_n * picked
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return loss.sum(dtype=logp.dtype) / w_n.sum(dtype=logp.dtype)
    return _reduce(loss, reduction)


def smoothing_weights(label_smoothing, n_classes):
    """(a, b) such that the label-smoothed target is q = a·y + b: a = 1 − ε, b = ε / C (torch's convention).

    The one definition of label smoothing in the package: the losses, their gradients, the large-vocabulary loss,
    the explorer and the checkers all take their target from here (or from ``smoothed_targets``).
    """
    return 1 - label_smoothing, label_smoothing / n_classes


def smoothed_targets(y, label_smoothing, dim=-1):
    """q = (1 − ε) y + ε / C for one-hot or probability targets y with C classes along ``dim``.

    ``y`` is a floating NumPy array or torch tensor; q has its dtype (float32 stays float32) and shape.
    """
    check.label_smoothing(label_smoothing)
    dtype = getattr(y, "dtype", None)
    if not (np.issubdtype(dtype, np.floating) if isinstance(dtype, np.dtype) else getattr(dtype, "is_floating_point", False)):
        raise TypeError(f"y must be a floating-point array or tensor of one-hot rows or probabilities, got {dtype}")
    a, b = smoothing_weights(float(label_smoothing), y.shape[dim])
    return y * a + b  # Python floats: NumPy and torch keep y's dtype


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """ℓ_n = −Σ_c w_c y_{n,c} log softmax(x_n)_c: log_softmax then nll_loss (notebooks 02, 03).

    ``input`` holds logits of shape (C,), (N, C) or (N, C, d1, ..., dK). ``target`` is either class
    indices (integers, shape without the class dimension) or class probabilities (floats in [0, 1],
    same shape as input). With ``label_smoothing`` ε the target becomes (1 − ε)·y + ε/C.
    'mean' over class indices is the weighted mean of ``nll_loss``; over probabilities it divides by
    the number of samples (N·d1···dK). ``ignore_index`` applies to class indices only. When every
    target is ignored, 'mean' is 0/0 and returns nan, as torch does.
    """
    x = check.float_array(input, "input")
    check.reduction(reduction)
    check.label_smoothing(label_smoothing)
    class_dim, batch_shape = check.split_class_dim(x)
    n_classes = x.shape[class_dim]
    logp = log_softmax(x, dim=class_dim)
    eps = x.dtype.type(label_smoothing)
    t = np.asarray(target)
    if np.issubdtype(t.dtype, np.floating) and t.shape == x.shape:
        return _cross_entropy_probs(logp, t, weight, reduction, eps, class_dim)
    if t.shape == x.shape and not np.issubdtype(t.dtype, np.floating):
        raise TypeError(
            f"target has the input's shape {t.shape} but dtype {t.dtype}: class probabilities (e.g. one-hot rows) "
            f"must be floats, or pass class indices of shape {batch_shape} (target.argmax({class_dim}))"
        )
    t = check.class_indices(t, batch_shape, n_classes, ignore_index)
    nll = nll_loss(logp, t, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if eps == 0:
        return nll
    w = check.class_weight(weight, n_classes, x.dtype)
    w_shape = [1] * x.ndim
    w_shape[class_dim] = n_classes
    keep = t != ignore_index
    smooth = np.where(keep, -(logp * w.reshape(w_shape)).sum(axis=class_dim), 0).astype(x.dtype)
    if reduction == "mean":
        denom = w[np.where(keep, t, 0)][keep].sum(dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth = smooth.sum(dtype=x.dtype) / denom
    else:
        smooth = _reduce(smooth, reduction)
    keep_share, spread = smoothing_weights(eps, x.dtype.type(n_classes))  # q = (1 − ε) onehot + ε / C
    return keep_share * nll + smooth * spread


def _cross_entropy_probs(logp, target, weight, reduction, eps, class_dim):
    """Cross-entropy against class probabilities: ℓ_n = −Σ_c w_c y_{n,c} log p_{n,c}."""
    y = target.astype(logp.dtype)
    check.probabilities(y, "target")
    n_classes = logp.shape[class_dim]
    if eps:
        y = smoothed_targets(y, eps, dim=class_dim).astype(logp.dtype)
    w = check.class_weight(weight, n_classes, logp.dtype)
    w_shape = [1] * logp.ndim
    w_shape[class_dim] = n_classes
    loss = -(y * logp * w.reshape(w_shape)).sum(axis=class_dim)
    return _reduce(np.asarray(loss, dtype=logp.dtype), reduction)


# ----------------------------------------------------------------------------- binary losses


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """ℓ = −w [y log p + (1 − y) log(1 − p)] with each log clamped at −100, as torch does (notebook 04).

    ``input`` holds probabilities, for example the output of sigmoid. Prefer
    ``binary_cross_entropy_with_logits``: the clamp makes this version wrong for confident mistakes.
    """
    p = check.float_array(input, "input")
    y = check.float_array(target, "target").astype(p.dtype)
    check.reduction(reduction)
    check.same_shape(p, y)
    check.probabilities(p, "input")
    check.probabilities(y, "target")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)
        log_1mp = np.maximum(np.log1p(-p), -100)
    loss = -(y * log_p + (1 - y) * log_1mp)
    if weight is not None:
        w = check.float_array(weight, "weight")
        check.broadcasts(w, p.shape, "weight")
        loss = loss * w
    return _reduce(loss.astype(p.dtype), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """ℓ = −w [p_w y log σ(x) + (1 − y) log(1 − σ(x))], via log σ(x) = −softplus(−x): exact for any x (notebook 04).

    ``pos_weight`` (one entry per class, broadcast along the last dimension) scales the positive term.
    """
    x = check.float_array(input, "input")
    y = check.float_array(target, "target").astype(x.dtype)
    check.reduction(reduction)
    check.same_shape(x, y)
    check.probabilities(y, "target")
    softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # −log σ(x), never overflows
    if pos_weight is None:
        loss = (1 - y) * x + softplus_neg
    else:
        pw = check.float_array(pos_weight, "pos_weight").astype(x.dtype)
        check.broadcasts(pw, x.shape, "pos_weight")
        loss = (1 - y) * x + (1 + (pw - 1) * y) * softplus_neg
    if weight is not None:
        w = check.float_array(weight, "weight")
        check.broadcasts(w, x.shape, "weight")
        loss = loss * w
    return _reduce(np.asarray(loss, dtype=x.dtype), reduction)


# ----------------------------------------------------------------------------- divergence


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(y ‖ p) pointwise: y (log y − input), where ``input`` = log p (and 0 where y = 0) (notebook 02).

    As in torch, 'mean' averages over every element; 'batchmean' (sum / N) is the true KL divergence
    per sample.
    """
    logp = check.float_array(input, "input")
    y = check.float_array(target, "target").astype(logp.dtype)
    if reduction != "batchmean":
        check.reduction(reduction)
    check.same_shape(logp, y)
    if log_target:
        loss = np.exp(y) * (y - logp)
    else:
        check.probabilities(y, "target")
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0) - y * logp
    loss = np.asarray(loss, dtype=logp.dtype)
    if reduction == "batchmean":
        n = logp.shape[0] if logp.ndim else 1
        return loss.sum(dtype=logp.dtype) / logp.dtype.type(n)
    return _reduce(loss, reduction)
