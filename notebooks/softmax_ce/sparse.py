"""Sparse alternatives to softmax (groundwork for notebook 12): sparsemax and α-entmax, and the sparsemax loss.

- ``sparsemax``: the Euclidean projection of the logits onto the probability simplex, argmin_{p ∈ Δ} ‖p − z‖²,
  i.e. p = [z − τ]₊ with the threshold τ in closed form after sorting (Martins & Astudillo 2016, Alg. 1);
  ``sparsemax_bisect`` finds the same τ by bisection, an independent implementation to test it against;
- ``entmax15``: 1.5-entmax, p = [z/2 − τ]₊², exact by sorting (Peters, Niculae & Martins 2019, Alg. 2);
  ``entmax_bisect``: α-entmax for any α > 1, p = [(α − 1) z − τ]₊^{1/(α−1)}, by bisection on τ
  (α → 1 approaches softmax, α = 2 is sparsemax);
- ``sparsemax_loss`` and ``sparsemax_loss_grad``: the loss whose gradient is sparsemax(z) − onehot(t), as
  cross-entropy's is softmax(z) − onehot(t) (Martins & Astudillo 2016, eq. 17).

torch has none of these, so there is no torch twin: the names and arguments follow ``torch.nn.functional``
(``input``, ``dim``, ``reduction``, ``ignore_index``) and the ``entmax`` package (``alpha``, ``n_iter``). The
conventions are those of ``functional``: float32 in gives float32 out, float64 gives float64; the output has the
input's shape; adding a constant to the logits changes nothing, and the logits are shifted by their max first, so
logits of ±1e4 give correct results; a −inf logit gets probability exactly 0 and a slice that is entirely −inf
gives nan, as softmax does. Tested in ``tests/unit/test_sparse.py`` (sorting against bisection, the loss against
torch autograd and finite differences).
"""

import numpy as np

from . import validation as check
from .functional import _reduce

BISECT_ITERATIONS = 60  # the bracket has width ≤ 1 after the shift: 2⁻⁶⁰ is below float64's resolution near 1


def _last(input, dim):
    """``input`` checked, as a float array at least 1-d with ``dim`` moved last, and that axis (to move it back)."""
    x = check.float_array(input, "input")
    axis = check.dim_index(dim, x.ndim)
    return np.moveaxis(np.atleast_1d(x), axis if x.ndim else 0, -1), axis


def _back(p, axis, ndim):
    p = np.moveaxis(p, -1, axis if ndim else 0)
    return p if ndim else p.reshape(())


def _shifted(x):
    """x − max x along the last axis: every finite slice then has its max at 0 (a slice of only −inf becomes nan)."""
    with np.errstate(invalid="ignore"):
        return x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)


def _leading_true(cond):
    """Per slice, how many leading entries of ``cond`` (along the last axis) are True: the support size ρ*."""
    return np.cumprod(cond, axis=-1, dtype=np.int64).sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- sparsemax


def _sparsemax_threshold(z):
    """τ and the support size k for logits z with max 0, along the last axis (Martins & Astudillo 2016, Alg. 1).

    Sorted decreasingly, z₍₁₎ ≥ z₍₂₎ ≥ …, the support is k = max{k : 1 + k z₍ₖ₎ > Σ_{j≤k} z₍ⱼ₎} (the condition holds
    exactly for k = 1 … k*), and τ = (Σ_{j≤k} z₍ⱼ₎ − 1) / k.
    """
    z_sorted = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumsum = np.cumsum(z_sorted, axis=-1)
    with np.errstate(invalid="ignore"):
        support = _leading_true(1 + k * z_sorted > cumsum)
    support_safe = np.maximum(support, 1)  # a slice of nan (all −inf) has no support: its τ stays nan
    tau = (np.take_along_axis(cumsum, support_safe - 1, axis=-1) - 1) / support_safe.astype(z.dtype)
    return tau, support


def sparsemax(input, dim=-1):
    """sparsemax(z) = argmin_{p ∈ Δ} ‖p − z‖² = [z − τ]₊, τ in closed form after sorting (exact zeros), along ``dim``.

    Input of any shape; the output has its shape and dtype and sums to 1 along ``dim``.
    """
    x, axis = _last(input, dim)
    if x.shape[-1] == 0:
        return _back(x.copy(), axis, np.ndim(input))
    z = _shifted(x)
    tau, _ = _sparsemax_threshold(z)
    with np.errstate(invalid="ignore"):
        p = np.maximum(z - tau, 0).astype(x.dtype)
    return _back(p, axis, np.ndim(input))


def _bisect(x, alpha, n_iter):
    """α-entmax along the last axis by bisection on τ in p = [(α − 1) z − τ]₊^{1/(α−1)}, z = x − max x.

    With m = max (α − 1) z = 0, Σ p ≥ 1 at τ = −1 (the max alone gives 1) and Σ p ≤ 1 at τ = −d^{1−α} (every entry
    ≤ 1/d), so τ* lies in [−1, −d^{1−α}]. Each step halves that bracket, keeping Σ p(lo) ≥ 1 ≥ Σ p(hi), until
    ``n_iter`` steps or until every bracket is two adjacent floats; the result is p(lo) / Σ p(lo) (the division fixes
    the last rounding of the sum, as the ``entmax`` package does).
    """
    z = (alpha - 1) * _shifted(x)
    d = z.shape[-1]
    power = 1 / (alpha - 1)

    def p_of(tau):
        base = np.maximum(z - tau, 0)
        return base if power == 1 else base**power

    lo = np.full(z.shape[:-1] + (1,), -1.0, dtype=x.dtype)
    hi = np.full_like(lo, -(float(d) ** (1 - alpha)))
    with np.errstate(invalid="ignore"):
        for _ in range(n_iter):
            mid = (lo + hi) / 2
            too_low = p_of(mid).sum(axis=-1, keepdims=True) >= 1
            lo, hi = np.where(too_low, mid, lo), np.where(too_low, hi, mid)
            mid = (lo + hi) / 2
            if not np.any((mid != lo) & (mid != hi)):  # every bracket is down to adjacent floats: no step can move it
                break
        p = p_of(lo)
        return (p / p.sum(axis=-1, keepdims=True)).astype(x.dtype)


def sparsemax_bisect(input, dim=-1, n_iter=BISECT_ITERATIONS):
    """sparsemax(z) = [z − τ]₊ with τ found by ``n_iter`` bisection steps on Σ [z − τ]₊ = 1, along ``dim``.

    No sorting: an independent implementation of ``sparsemax`` (they agree to rounding in float64). Same shapes.
    """
    return entmax_bisect(input, alpha=2.0, dim=dim, n_iter=n_iter)


# ----------------------------------------------------------------------------- entmax


def _entmax15_threshold(x):
    """τ for 1.5-entmax of half-logits x (max 0) along the last axis (Peters, Niculae & Martins 2019, Alg. 2).

    Sorted decreasingly, for each ρ: the mean M_ρ and the spread S_ρ = Σ_{j≤ρ} (x₍ⱼ₎ − M_ρ)² of the ρ largest, and
    τ_ρ = M_ρ − √((1 − S_ρ)/ρ), the root of Σ_{j≤ρ} (x₍ⱼ₎ − τ)² = 1 below them. τ_ρ ≤ x₍ρ₎ holds exactly for
    ρ = 1 … ρ* (Alg. 2 stops at the first ρ with x₍ρ+1₎ ≤ τ_ρ ≤ x₍ρ₎, the same ρ*); τ is then recomputed on the
    support with a two-pass mean and spread, which is more accurate than the running sums.
    """
    x_sorted = -np.sort(-x, axis=-1)
    rho = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    with np.errstate(invalid="ignore"):
        mean = np.cumsum(x_sorted, axis=-1) / rho
        spread = np.cumsum(x_sorted**2, axis=-1) - rho * mean**2
        room = (1 - spread) / rho
        tau_rho = mean - np.sqrt(np.maximum(room, 0))
        support = _leading_true((room >= 0) & (tau_rho <= x_sorted))
    support_safe = np.maximum(support, 1)
    on_support = np.arange(x.shape[-1]) < support_safe
    count = support_safe.astype(x.dtype)
    with np.errstate(invalid="ignore"):
        mean = np.where(on_support, x_sorted, 0).sum(axis=-1, keepdims=True) / count
        spread = np.where(on_support, (x_sorted - mean) ** 2, 0).sum(axis=-1, keepdims=True)
        return mean - np.sqrt(np.maximum(1 - spread, 0) / count)


def entmax15(input, dim=-1):
    """1.5-entmax(z) = argmax_{p ∈ Δ} pᵀz + H^T_{1.5}(p) = [z/2 − τ]₊², τ exact after sorting, along ``dim``.

    H^T_α is Tsallis' entropy, (Σ_j p_j − p_j^α) / (α(α − 1)). Sparse (exact zeros) but less so than sparsemax.
    Input of any shape; the output has its shape and dtype and sums to 1 along ``dim``.
    """
    x, axis = _last(input, dim)
    if x.shape[-1] == 0:
        return _back(x.copy(), axis, np.ndim(input))
    half = _shifted(x) / 2
    tau = _entmax15_threshold(half)
    with np.errstate(invalid="ignore"):
        p = (np.maximum(half - tau, 0) ** 2).astype(x.dtype)
    return _back(p, axis, np.ndim(input))


def entmax_bisect(input, alpha=1.5, dim=-1, n_iter=BISECT_ITERATIONS):
    """α-entmax(z) = argmax_{p ∈ Δ} pᵀz + H^T_α(p) = [(α − 1) z − τ]₊^{1/(α−1)}, τ by bisection, along ``dim``.

    ``alpha`` > 1 (a number): α = 2 is sparsemax, α = 1.5 is ``entmax15``, and as α → 1 it tends to softmax
    (the logits' spread must stay below 1/(α − 1), beyond which entries are exactly 0). Same shapes as the input.
    """
    x, axis = _last(input, dim)
    alpha = check.finite_number(alpha, "alpha", low=1.0, low_open=True)
    check.positive_int(n_iter, "n_iter")
    if x.shape[-1] == 0:
        return _back(x.copy(), axis, np.ndim(input))
    return _back(_bisect(x, alpha, n_iter), axis, np.ndim(input))


# ----------------------------------------------------------------------------- the sparsemax loss


def _loss_args(input, target, ignore_index, reduction):
    """Logits with the classes moved last, the targets, and which targets count (not ``ignore_index``)."""
    x = check.float_array(input, "input")
    check.reduction(reduction)
    class_dim, batch_shape = check.split_class_dim(x)
    t = check.class_indices(target, batch_shape, x.shape[class_dim], ignore_index)
    keep = t != ignore_index
    return np.moveaxis(x, class_dim, -1), t.astype(np.int64), keep, class_dim


def sparsemax_loss(input, target, ignore_index=-100, reduction="mean"):
    """ℓ_n = −z_t + ½ Σ_{j ∈ S(z)} (z_j² − τ²) + ½, with S(z) the support of sparsemax(z) and τ its threshold.

    Equivalently ½‖onehot(t) − z‖² − ½‖sparsemax(z) − z‖²: ≥ 0, and 0 exactly when sparsemax(z) = onehot(t), i.e.
    when z_t exceeds every other logit by at least 1 (Martins & Astudillo 2016, Prop. 3). ``input`` is (C,),
    (N, C) or (N, C, d1, ..., dK) as in ``cross_entropy``; ``target`` holds class indices (shape without the class
    dimension). 'mean' divides by the number of targets that are not ``ignore_index`` (nan when every one is).
    """
    x, t, keep, _ = _loss_args(input, target, ignore_index, reduction)
    z = _shifted(x)  # the loss does not change when a constant is added to z: no z² of size 1e8 to cancel
    tau, _ = _sparsemax_threshold(z)
    on_support = z > tau
    squares = np.where(on_support, z**2 - tau**2, 0).sum(axis=-1)
    z_t = np.take_along_axis(z, np.where(keep, t, 0)[..., None], axis=-1)[..., 0]
    loss = np.where(keep, -z_t + squares / 2 + 0.5, 0).astype(x.dtype)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return loss.sum(dtype=x.dtype) / x.dtype.type(keep.sum())
    return _reduce(loss, reduction)


def sparsemax_loss_grad(input, target, ignore_index=-100, reduction="mean"):
    """∂ sparsemax_loss / ∂ input = sparsemax(z) − onehot(t) per counted sample (divided by their number for 'mean').

    Same arguments and shapes as ``sparsemax_loss``; the gradient has the input's shape. For 'none' it is the
    gradient of ``loss.sum()``, as in ``gradients``.
    """
    x, t, keep, class_dim = _loss_args(input, target, ignore_index, reduction)
    p = sparsemax(x, dim=-1)
    onehot = np.arange(x.shape[-1]) == np.where(keep, t, 0)[..., None]
    grad = np.where(keep[..., None], p - onehot, 0).astype(x.dtype)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = grad / x.dtype.type(keep.sum())
    return np.moveaxis(grad, -1, class_dim)
