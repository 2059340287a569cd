"""Hand-derived gradients of the functions in ``functional`` (notebook 06), tested against torch autograd.

torch has no public twins for these, so each takes the same arguments as the forward function it
differentiates: ``cross_entropy_grad(input, target, weight=..., reduction=...)`` is d cross_entropy / d input
for exactly those arguments. For ``reduction='none'`` the loss is a vector; its gradient here is that of
``loss.sum()``, which stacks each sample's own gradient (sample n's loss depends only on its own logits).
"""

import numpy as np

from . import functional as F
from . import validation as check


def softmax_jacobian(input):
    """∂ softmax(z)_i / ∂ z_j = p_i (δ_ij − p_j), i.e. diag(p) − p pᵀ, over the last dimension.

    Input (..., C) gives (..., C, C): one Jacobian per vector of logits.
    """
    p = F.softmax(input, dim=-1)
    if p.ndim == 0:
        raise ValueError("input must have at least 1 dimension (the classes)")
    eye = np.eye(p.shape[-1], dtype=p.dtype)
    return p[..., :, None] * eye - p[..., :, None] * p[..., None, :]


def softmax_backward(grad_output, output, dim):
    """Vector-Jacobian product of softmax: given p = softmax(z) and g = ∂L/∂p, ∂L/∂z = p ⊙ (g − Σ_j g_j p_j).

    This is what autograd computes without ever forming the C × C Jacobian.
    """
    g = check.float_array(grad_output, "grad_output")
    p = check.float_array(output, "output")
    if g.shape != p.shape:
        raise ValueError(f"grad_output shape {g.shape} must equal output shape {p.shape}")
    axis = check.dim_index(dim, p.ndim)
    return p * (g - np.sum(g * p, axis=axis, keepdims=True))


def cross_entropy_grad(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """∂ cross_entropy / ∂ input. Unweighted, unsmoothed, 'mean' over N samples: (softmax(z) − onehot(y)) / N.

    In general, for the smoothed target q = (1 − ε) onehot(y) + ε / C and class weights w,
    ∂ℓ_n/∂z_n = (Σ_c w_c q_c) p − w ⊙ q, with the same denominators as the forward pass.
    """
    x = check.float_array(input, "input")
    F.cross_entropy(x, target, weight=weight, ignore_index=ignore_index,  # validates every argument
                    reduction=reduction, label_smoothing=label_smoothing)
    class_dim, batch_shape = check.split_class_dim(x)
    n_classes = x.shape[class_dim]
    p = F.softmax(x, dim=class_dim)
    w = check.class_weight(weight, n_classes, x.dtype)
    w_b = np.expand_dims(w, tuple(d for d in range(x.ndim) if d != class_dim))
    eps = x.dtype.type(label_smoothing)
    t = np.asarray(target)
    if np.issubdtype(t.dtype, np.floating) and t.shape == x.shape:  # class probabilities
        q = F.smoothed_targets(t.astype(x.dtype), eps, dim=class_dim).astype(x.dtype)
        keep = np.ones(batch_shape, dtype=bool)
        denom = x.dtype.type(np.prod(batch_shape))
    else:  # class indices
        t = check.class_indices(t, batch_shape, n_classes, ignore_index)
        keep = t != ignore_index
        safe_t = np.where(keep, t, 0)
        onehot = np.moveaxis(np.eye(n_classes, dtype=x.dtype)[safe_t], -1, class_dim)
        q = F.smoothed_targets(onehot, eps, dim=class_dim).astype(x.dtype)
        denom = w[safe_t][keep].sum(dtype=x.dtype)
    keep_b = np.expand_dims(keep, class_dim)
    wq = w_b * q
    grad = np.where(keep_b, wq.sum(axis=class_dim, keepdims=True) * p - wq, 0).astype(x.dtype)
    if reduction == "mean":  # every target ignored: the loss is nan (0/0) but, as in torch, the gradient is 0
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = np.where(keep_b, grad / denom, 0).astype(x.dtype)
    return grad


def binary_cross_entropy_with_logits_grad(input, target, weight=None, reduction="mean", pos_weight=None):
    """∂ binary_cross_entropy_with_logits / ∂ input = w [(1 + (p_w − 1) y) σ(x) − p_w y]; plain case: σ(x) − y."""
    x = check.float_array(input, "input")
    F.binary_cross_entropy_with_logits(x, target, weight=weight, reduction=reduction, pos_weight=pos_weight)  # validates
    y = check.float_array(target, "target").astype(x.dtype)
    pw = 1 if pos_weight is None else check.float_array(pos_weight, "pos_weight").astype(x.dtype)
    grad = (1 - y) - (1 + (pw - 1) * y) * F.sigmoid(-x)
    if weight is not None:
        grad = grad * check.float_array(weight, "weight").astype(x.dtype)
    grad = np.broadcast_to(grad, x.shape).astype(x.dtype)
    if reduction == "mean":
        grad = grad / x.dtype.type(max(x.size, 1))
    return grad
