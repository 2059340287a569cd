"""Softmax and cross-entropy in today's models (groundwork for notebook 12): what papers since 2015 add to them.

From-scratch NumPy versions, each with its formula and its source:

- ``z_loss``, ``z_loss_grad``: PaLM's auxiliary loss on the softmax normaliser, (log Z)² (Chowdhery et al. 2022);
- ``soft_cap``, ``soft_cap_grad``: Gemma 2's logit soft-capping, c·tanh(z / c) (Gemma Team 2024);
- ``distillation_loss``, ``distillation_loss_grad``: knowledge distillation, T²·KL (Hinton, Vinyals & Dean 2015);
- ``info_nce``, ``clip_loss``: contrastive losses over a batch (van den Oord et al. 2018; Radford et al. 2021);
- ``focal_loss``: cross-entropy that down-weights easy examples, (1 − p_t)^γ (Lin et al. 2017).

The conventions of ``functional``: float32 in gives float32 out, float64 gives float64; ``reduction`` is 'none',
'mean' or 'sum' (the distillation loss also takes 'batchmean', its default); logits of ±1e4 give finite, correct
results; bad input raises a ``TypeError`` or ``ValueError`` that names the problem. The gradients follow
``gradients``: the same arguments as the forward function, and for 'none' the gradient of ``loss.sum()``. Each
function is tested against torch (autograd for the gradients) in ``tests/unit/test_modern.py``.
"""

import numpy as np

from . import functional as F
from . import validation as check

NORMALIZE_EPS = 1e-12  # F.normalize's default: a zero row stays zero instead of becoming nan


def _rows(x, axis):
    """How many vectors ("rows") an array holds along ``axis``: the product of its other sizes (1 for a 0-d array)."""
    return int(np.prod([s for i, s in enumerate(x.shape) if i != axis]))


def _positive(value, name):
    """A finite number > 0, in float."""
    return check.finite_number(value, name, low=0.0, low_open=True)


# ----------------------------------------------------------------------------- z-loss (PaLM)


def z_loss(input, dim=-1, reduction="mean"):
    """ℓ = (log Z)² per row, with log Z = logsumexp(z) over ``dim``: PaLM's auxiliary z-loss (Chowdhery et al. 2022).

    From "PaLM: Scaling Language Modeling with Pathways" (section 5). Softmax ignores a shift of the logits, so
    cross-entropy lets log Z drift; PaLM adds α·z_loss with α = 1e-4 to the loss to keep log Z near 0, which made
    training more stable. log Z is the course's stable logsumexp (``functional.logsumexp``): logits of ±1e4 are fine.

    Shapes: ``input`` holds vectors of logits along ``dim`` (an int); 'none' gives one loss per vector (the input's
    shape without ``dim``), 'mean' (over the vectors) and 'sum' a scalar.
    """
    x = check.float_array(input, "input")
    check.reduction(reduction)
    axis = check.dim_index(dim, x.ndim)
    log_z = F.logsumexp(x, dim=axis)
    return F._reduce(np.asarray(log_z * log_z, dtype=x.dtype), reduction)


def z_loss_grad(input, dim=-1, reduction="sum"):
    """∂ z_loss / ∂ z = 2 log Z · softmax(z) per row, for reduction 'sum' (the default here) and 'none'.

    'mean' divides that by the number of rows. Note the default: 'sum', the per-row gradient, while ``z_loss``
    defaults to 'mean'. Same shape and dtype as ``input``.
    """
    x = check.float_array(input, "input")
    z_loss(x, dim=dim, reduction=reduction)  # validates every argument
    axis = check.dim_index(dim, x.ndim)
    grad = 2 * F.logsumexp(x, dim=axis, keepdim=True) * F.softmax(x, dim=axis)
    if reduction == "mean":
        grad = grad / x.dtype.type(_rows(x, axis))
    return grad.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------- soft-capping (Gemma 2)


def soft_cap(input, cap):
    """c · tanh(z / c): about z while |z| ≪ c, never beyond ±c: Gemma 2's logit soft-capping (Gemma Team 2024).

    From "Gemma 2: Improving Open Language Models at a Practical Size": c = 30 for the final logits, c = 50 for the
    attention logits. Elementwise, any shape; ``cap`` must be a finite number > 0. Unlike clipping, it keeps a
    gradient everywhere.
    """
    x = check.float_array(input, "input")
    c = x.dtype.type(_positive(cap, "cap"))
    return c * np.tanh(x / c)


def soft_cap_grad(input, cap):
    """∂ soft_cap / ∂ z = 1 − tanh²(z / c), elementwise (the gradient of ``soft_cap(z, c).sum()``).

    Evaluated as 4 e^{−2|u|} / (1 + e^{−2|u|})² with u = z / c, which equals 1 − tanh²(u) without its cancellation
    near |u| = ∞ and without cosh's overflow. Same shape and dtype as ``input``.
    """
    x = check.float_array(input, "input")
    c = x.dtype.type(_positive(cap, "cap"))
    e = np.exp(-2 * np.abs(x / c))
    return (4 * e / (1 + e) ** 2).astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------- knowledge distillation (Hinton et al.)


def _distillation_args(student_logits, teacher_logits, temperature, reduction):
    s = check.float_array(student_logits, "student_logits")
    check.has_shape(s, "student_logits", (None, None),
                    "(N, C): one row of logits per sample (flatten (B, T, V) to (B·T, V))")
    t = check.float_array(teacher_logits, "teacher_logits")
    check.has_shape(t, "teacher_logits", s.shape, f"{s.shape}, the shape of student_logits")
    temp = s.dtype.type(_positive(temperature, "temperature"))
    check.reduction(reduction, ("batchmean", *check.REDUCTIONS))
    return s, t.astype(s.dtype, copy=False), temp


def distillation_loss(student_logits, teacher_logits, temperature=1.0, reduction="batchmean"):
    """T² · KL(softmax(t / T) ‖ softmax(s / T)) per sample, s the student's logits, t the teacher's (Hinton et al. 2015).

    From Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network". A temperature T > 1 softens both
    distributions, so the student also learns how the teacher ranks the wrong classes; the soft targets' gradients
    shrink as 1/T², and the factor T² gives them back their size.

    Shapes: both (N, C), classes along the last dimension. ``reduction``:
    'batchmean' (default): the sum divided by N, the KL divergence per sample (what the formula means);
    'sum': summed over samples and classes;
    'mean': divided by N·C, the number of elements: torch's F.kl_div trap, smaller than the KL by a factor C;
    'none': the pointwise terms T² p_t (log p_t − log p_s), shape (N, C); row n sums to sample n's T²·KL.

    In torch: ``T**2 * F.kl_div(F.log_softmax(s / T, dim=-1), F.softmax(t / T, dim=-1), reduction=...)``.
    F.kl_div(input, target) computes KL(target ‖ exp(input)): its first argument is the student's
    log-probabilities, its second the teacher's probabilities, the reverse of the order in which KL(p_t ‖ p_s) is
    written. A class the teacher masks out (logit −inf, p_t = 0) adds 0, as in torch.
    """
    s, t, temp = _distillation_args(student_logits, teacher_logits, temperature, reduction)
    log_ps = F.log_softmax(s / temp, dim=-1)
    p_t = F.softmax(t / temp, dim=-1)  # not exp(log_softmax): its relative error would be multiplied by |log p_s|
    with np.errstate(invalid="ignore", divide="ignore"):  # N = 0: 'batchmean' and 'mean' are 0/0 = nan, as in torch
        terms = np.where(p_t > 0, p_t * (F.log_softmax(t / temp, dim=-1) - log_ps), 0).astype(s.dtype)
        if reduction == "batchmean":
            loss = terms.sum(dtype=s.dtype) / s.dtype.type(s.shape[0])
        else:
            loss = F._reduce(terms, reduction)
    return loss * (temp * temp)


def distillation_loss_grad(student_logits, teacher_logits, temperature=1.0, reduction="batchmean"):
    """∂ distillation_loss / ∂ s = T · (softmax(s / T) − softmax(t / T)) / N for 'batchmean'.

    'sum' and 'none' (the gradient of the sum) do not divide, 'mean' divides by N·C. Shape (N, C), the dtype of s.
    """
    s, t, temp = _distillation_args(student_logits, teacher_logits, temperature, reduction)
    grad = temp * (F.softmax(s / temp, dim=-1) - F.softmax(t / temp, dim=-1))
    n = {"batchmean": s.shape[0], "mean": s.size}.get(reduction, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (grad / s.dtype.type(n)).astype(s.dtype, copy=False)


# ----------------------------------------------------------------------------- contrastive losses (InfoNCE, CLIP)


def _normalize_rows(x):
    """x / max(‖x‖₂, 1e-12) per row, as torch's F.normalize(x, dim=1)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), x.dtype.type(NORMALIZE_EPS))


def _similarities(a, b, a_name, b_name, temperature, normalize):
    """S = a bᵀ / τ, shape (N, N), after validating a and b as (N, D) embeddings (and L2-normalising them if asked)."""
    a = check.float_array(a, a_name)
    check.has_shape(a, a_name, (None, None), "(N, D): one embedding per row")
    b = check.float_array(b, b_name)
    check.has_shape(b, b_name, a.shape, f"{a.shape}, the shape of {a_name} (row i of each is a positive pair)")
    b = b.astype(a.dtype, copy=False)
    tau = a.dtype.type(_positive(temperature, "temperature"))
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {type(normalize).__name__} {normalize!r}")
    if normalize:
        a, b = _normalize_rows(a), _normalize_rows(b)
    return (a @ b.T) / tau


def info_nce(queries, keys, temperature=0.07, reduction="mean", normalize=False):
    """ℓ_i = −log softmax(S_i)_i, S = q kᵀ / τ: cross-entropy of N × N similarities, targets arange(N) (InfoNCE).

    ℓ_i = −log [exp(q_i·k_i / τ) / Σ_j exp(q_i·k_j / τ)], from van den Oord, Li & Vinyals 2018, "Representation
    Learning with Contrastive Predictive Coding". Each query must pick its own key out of the batch; the other N − 1
    keys are its negatives, so ℓ ≥ 0, and random embeddings give about log N. τ = 0.07 is MoCo's value and CLIP's
    starting one.

    Shapes: ``queries`` and ``keys`` both (N, D), row i of keys the positive of row i of queries; 'none' gives (N,).
    The rows are assumed L2-normalised (S is then cosine similarity / τ); ``normalize=True`` normalises them first,
    as F.normalize(x, dim=1). In torch: ``F.cross_entropy(q @ k.T / τ, torch.arange(N), reduction=...)``.
    """
    check.reduction(reduction)
    sim = _similarities(queries, keys, "queries", "keys", temperature, normalize)
    return F.cross_entropy(sim, np.arange(sim.shape[0]), reduction=reduction)


def clip_loss(image_emb, text_emb, temperature=0.07, reduction="mean", normalize=False):
    """(ℓ_image→text + ℓ_text→image) / 2: InfoNCE over the rows and the columns of S = I Tᵀ / τ (CLIP, 2021).

    From Radford et al., "Learning Transferable Visual Models From Natural Language Supervision": along a row each
    image picks its caption, along a column each caption picks its image.

    Shapes: ``image_emb`` and ``text_emb`` both (N, D), row i of each a matching pair; 'none' gives (N,), pair i's
    average of its two losses; 'mean' is the average of the two directions' means. The embeddings are assumed
    L2-normalised (CLIP normalises them in the model); ``normalize=True`` does it here. CLIP learns τ, starting at
    0.07 (its logit scale 1/τ is capped at 100). In torch:
    ``(F.cross_entropy(S, arange(N)) + F.cross_entropy(S.T, arange(N))) / 2``.
    """
    check.reduction(reduction)
    sim = _similarities(image_emb, text_emb, "image_emb", "text_emb", temperature, normalize)
    labels = np.arange(sim.shape[0])
    image_to_text = F.cross_entropy(sim, labels, reduction=reduction)
    text_to_image = F.cross_entropy(sim.T, labels, reduction=reduction)
    return (image_to_text + text_to_image) / 2


# ----------------------------------------------------------------------------- focal loss (Lin et al.)


def focal_loss(input, target, gamma=2.0, alpha=None, reduction="mean", ignore_index=-100):
    """ℓ_n = −α_t (1 − p_t)^γ log p_t, p_t = softmax(x_n)[y_n], α_t = alpha[y_n]: the focal loss (Lin et al. 2017).

    From Lin, Goyal, Girshick, He & Dollár, "Focal Loss for Dense Object Detection". The factor (1 − p_t)^γ shrinks
    the loss of examples already classified well (p_t near 1), so the many easy ones do not drown the few hard ones;
    the paper uses γ = 2. log p_t comes from log_softmax, and 1 − p_t from −expm1(log p_t), which keeps the digits
    that 1 − exp(log p_t) cancels away when p_t is close to 1.

    Shapes: ``input`` (N, C) logits, ``target`` (N,) class indices (int64, as for cross_entropy), ``alpha`` None
    (all 1) or one weight per class, shape (C,). 'none' gives (N,), 0 where the target is ``ignore_index``.
    'mean' divides the sum by the number of targets that are not ignored (the paper's normalisation), not by
    Σ α_t as F.cross_entropy(weight=α) does. So γ = 0 gives exactly cross_entropy when α is None; with α, only for
    'sum' and 'none'.
    """
    x = check.float_array(input, "input")
    check.has_shape(x, "input", (None, None), "(N, C): one row of logits per sample")
    check.reduction(reduction)
    g = x.dtype.type(check.finite_number(gamma, "gamma", low=0.0))
    n_classes = x.shape[1]
    t = check.class_indices(target, x.shape[:1], n_classes, ignore_index)
    if alpha is None:
        a = np.ones(n_classes, dtype=x.dtype)
    else:
        a = check.float_array(alpha, "alpha")
        check.has_shape(a, "alpha", (n_classes,), f"({n_classes},), one weight per class")
        a = a.astype(x.dtype, copy=False)
    keep = t != ignore_index
    safe_t = np.where(keep, t, 0)
    log_pt = np.take_along_axis(F.log_softmax(x, dim=1), safe_t[:, None], axis=1)[:, 0]
    weight = np.where(keep, a[safe_t] * (-np.expm1(log_pt)) ** g, 0).astype(x.dtype)
    loss = -weight * log_pt
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: 0/0 = nan, as in torch
            return loss.sum(dtype=x.dtype) / x.dtype.type(np.count_nonzero(keep))
    return F._reduce(loss, reduction)
