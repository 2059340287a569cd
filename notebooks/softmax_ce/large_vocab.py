"""Cross-entropy over a large vocabulary without the (N × V) logits (notebook 09).

- ``online_logsumexp``: one pass over the classes with a running max and a rescaled running sum
  (Milakov & Gimelshein, 2018), in NumPy; ``blockwise_logsumexp`` merges per-block (max, sum) pairs.
- ``linear_cross_entropy``: cross_entropy(input @ linear_weightᵀ + linear_bias, target) as a torch
  ``autograd.Function`` that walks over row chunks, so it never holds more than (chunk × V) logits.
  Because the logits of a chunk are in hand anyway, it computes the gradients in the same pass.
- ``recorded_benchmark``: what ``benchmarks/large_vocab.py --record`` measured, for notebook 09's table and figure.
"""

import json
from importlib import resources

import numpy as np
import torch

from . import validation as check
from .functional import smoothing_weights

# ----------------------------------------------------------------------------- online softmax (NumPy)


def merge_logsumexp_stats(m1, s1, m2, s2):
    """Combine two partial (max m, sum s = Σ exp(x − m)) pairs: m = max(m1, m2), s = s1 e^{m1−m} + s2 e^{m2−m}.

    A part with m = −inf is empty (all its entries masked) and adds nothing.
    """
    m = np.maximum(m1, m2)
    with np.errstate(invalid="ignore", over="ignore"):  # m_i == m needs no rescaling (also when both are ±inf)
        s = np.where(m1 == m, s1, s1 * np.exp(m1 - m)) + np.where(m2 == m, s2, s2 * np.exp(m2 - m))
    return m, s.astype(np.result_type(s1, s2))


def _finish(m, s, dtype):
    with np.errstate(divide="ignore"):
        out = (m + np.log(s)).astype(dtype)
    return out if out.ndim else out[()]


def online_logsumexp(input, dim=-1):
    """log Σ_j exp(x_j) in ONE pass over ``dim``: m_j = max(m_{j−1}, x_j), s_j = s_{j−1} e^{m_{j−1} − m_j} + e^{x_j − m_j}."""
    x = check.float_array(input, "input")
    axis = check.dim_index(dim, x.ndim)
    x = np.moveaxis(np.atleast_1d(x), axis if x.ndim else 0, -1)
    m = np.full(x.shape[:-1], -np.inf, dtype=x.dtype)
    s = np.zeros(x.shape[:-1], dtype=x.dtype)
    for j in range(x.shape[-1]):  # one element at a time, as a streaming kernel would
        m, s = merge_logsumexp_stats(m, s, x[..., j], np.ones_like(s))
    return _finish(m, s, x.dtype)


def blockwise_logsumexp(input, block_size, dim=-1):
    """logsumexp over ``dim`` from blocks of ``block_size`` classes: each block's (max, sum) pair, then merged."""
    x = check.float_array(input, "input")
    check.positive_int(block_size, "block_size")
    axis = check.dim_index(dim, x.ndim)
    x = np.moveaxis(np.atleast_1d(x), axis if x.ndim else 0, -1)
    m = np.full(x.shape[:-1], -np.inf, dtype=x.dtype)
    s = np.zeros(x.shape[:-1], dtype=x.dtype)
    for start in range(0, x.shape[-1], block_size):
        block = x[..., start:start + block_size]
        bm = block.max(axis=-1)
        bm_safe = np.where(np.isfinite(bm), bm, 0.0)
        bs = np.exp(block - bm_safe[..., None]).sum(axis=-1)
        m, s = merge_logsumexp_stats(m, s, bm, bs)
    return _finish(m, s, x.dtype)


# ----------------------------------------------------------------------------- chunked linear + cross-entropy (torch)


def _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk_size,
                vocab_size=None):
    """Argument checks; ``vocab_size`` is the whole vocabulary when ``linear_weight`` holds only a shard of it."""
    if not isinstance(input, torch.Tensor) or not isinstance(linear_weight, torch.Tensor):
        raise TypeError("input and linear_weight must be torch tensors")
    if input.ndim != 2 or linear_weight.ndim != 2:
        raise ValueError(f"input must be (N, D) and linear_weight (V, D); got {tuple(input.shape)} and {tuple(linear_weight.shape)}")
    if input.shape[1] != linear_weight.shape[1]:
        raise ValueError(f"hidden size mismatch: input has D={input.shape[1]} but linear_weight has D={linear_weight.shape[1]}")
    if linear_bias is not None and tuple(linear_bias.shape) != (linear_weight.shape[0],):
        raise ValueError(f"linear_bias must have shape ({linear_weight.shape[0]},), got {tuple(linear_bias.shape)}")
    if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.uint8):  # torch's two (Long, Byte)
        raise TypeError(f"target must be a tensor of class indices of dtype int64 (or uint8), as torch requires; got "
                        f"{getattr(target, 'dtype', type(target).__name__)}: use target.long()")
    if tuple(target.shape) != (input.shape[0],):
        raise ValueError(f"target must have shape ({input.shape[0]},), one class per row of input; got {tuple(target.shape)}")
    v = linear_weight.shape[0] if vocab_size is None else vocab_size
    counted = target[target != ignore_index]
    if counted.numel() and (counted.min() < 0 or counted.max() >= v):
        bad = counted.min().item() if counted.min() < 0 else counted.max().item()
        raise ValueError(f"target {bad} is out of range for {v} classes (and is not ignore_index={ignore_index})")
    check.reduction(reduction)
    check.label_smoothing(label_smoothing)
    check.positive_int(chunk_size, "chunk_size")


class WholeVocabulary:
    """The vocabulary in one piece: classes 0 … V − 1 start at 0, and a row's statistics need no merging."""

    start = 0
    vocab_size = None  # the weight's own number of rows

    @staticmethod
    def all_reduce(tensor, op):
        return tensor


# Gradient filtering (Cut Cross-Entropy, Wijmans et al., ICLR 2025): where a class's softmax probability is below
# filter_eps in every row of a chunk, the softmax part p_nj of its gradient is dropped for that chunk. CCE's GPU kernel
# skips whole tiles of the logits, so it sorts the vocabulary to gather the skippable classes into the same tiles;
# here a "tile" is one class of one chunk (a column of the chunk's logits), so no sorting is needed: the kept columns
# are gathered (index_select) and the two gradient matmuls run over those alone.
GATHER_BELOW = 0.5  # kept fraction of the classes up to which gathering beats the dense matmuls with zeroed columns


def _check_filter_eps(value, allow_none=True):
    """``filter_eps`` as None (exact gradients, if ``allow_none``) or a float ε with 0 < ε < 1."""
    if value is None and allow_none:
        return None
    eps = check.finite_number(value, "filter_eps")  # TypeError for bools and strings, ValueError for nan and ±inf
    if not 0.0 < eps < 1.0:
        raise ValueError(f"filter_eps must be in (0, 1), a probability below which a class's softmax gradient is "
                         f"dropped (such as 2**-20), or None for exact gradients; got {eps:g}")
    return eps


def _kept_classes(p, keep, filter_eps):
    """Mask (V,) of the classes j with max_n p_nj ≥ filter_eps over the counted rows n of a chunk's softmax p (c × V).

    Zeroes the ignored rows of ``p`` in place (their gradient is multiplied by 0 anyway), so they never keep a class;
    a NaN column is kept, so a NaN reaches the gradient as without filtering.
    """
    if not keep.all():
        p.index_fill_(0, (~keep).nonzero().squeeze(1), 0.0)
    return ~(p.amax(0) < filter_eps)


def _add_kept_softmax_part(p, kept, h, weight, scale, grad_input_rows, grad_weight, grad_bias):
    """A chunk's softmax part over the kept classes K alone, G = scale_n · p_nK (c × |K|): ∂H_rows = G W_K,
    ∂W_K += Gᵀ h, ∂b_K += Σ_n G_n (the one-hot and smoothing parts come from ``_add_target_parts``)."""
    g = p.index_select(1, kept).mul_(scale[:, None])
    if grad_input_rows is not None:
        torch.mm(g, weight.index_select(0, kept), out=grad_input_rows)
    if grad_weight is not None:
        acc = grad_weight.dtype
        grad_weight.index_add_(0, kept, g.T.to(acc) @ h.to(acc))
    if grad_bias is not None:
        grad_bias.index_add_(0, kept, g.sum(0, dtype=grad_bias.dtype))


def _add_target_parts(rows, input, weight, target, keep, row_scale, shard, keep_share, spread, grad_input, grad_weight,
                      grad_bias):
    """The exact one-hot and smoothing parts of the gradient of the ``rows`` (N,) whose softmax part was gathered:
    G_nj = −(1 − ε) scale_n onehot_j(t_n) − ε/V scale_n, so ∂H_n −= (1 − ε) scale_n W_{t_n} + ε/V scale_n Σ_j W_j,
    ∂W_{t_n} −= (1 − ε) scale_n h_n and ∂b_{t_n} −= (1 − ε) scale_n, and every class j gets ∂W_j −= ε/V Σ_n scale_n h_n,
    ∂b_j −= ε/V Σ_n scale_n. For all the gathered chunks at once: a gather of target rows of W, an index_add of rows
    of H, a broadcast; so a row's target never has to be kept.
    """
    acc = grad_weight.dtype if grad_weight is not None else weight.dtype
    scale = torch.where(rows & keep, row_scale, 0.0)
    local_t = target - shard.start
    mine = (local_t >= 0) & (local_t < weight.shape[0])  # rows whose target class is in this shard
    t_safe = torch.where(mine, local_t, 0)
    share = torch.where(mine, scale, 0.0).mul_(keep_share)  # (1 − ε) scale_n
    if grad_input is not None:
        grad_input.sub_(share[:, None] * weight.index_select(0, t_safe))
        if spread:
            grad_input.addr_(scale, weight.sum(0, dtype=acc).to(weight.dtype), alpha=-spread)
    if grad_weight is not None:
        grad_weight.index_add_(0, t_safe, (share[:, None] * input).to(acc), alpha=-1)
        if spread:
            grad_weight.sub_(spread * (scale.to(acc) @ input.to(acc)))  # the same row (D,) for every class
    if grad_bias is not None:
        grad_bias.index_add_(0, t_safe, share.to(acc), alpha=-1)
        if spread:
            grad_bias.sub_(spread * scale.sum(dtype=acc))


def _chunk_pass(input, weight, bias, target, keep, label_smoothing, chunk_size, row_scale, grads,
                shard=WholeVocabulary, stats=None, filter_eps=None):
    """One walk over row chunks: per-row losses and softmax statistics (max, Σ exp), and (if ``grads``) ∂(Σ_n row_scale_n ℓ_n) for
    input, weight, bias.

    ``weight`` may hold only the classes ``shard.start`` … ``shard.start + len(weight) − 1`` of a vocabulary of
    ``shard.vocab_size`` (notebook 11): then each row's max, Σ exp and Σ_c q_c z_c over this shard are merged with
    the other shards' by ``shard.all_reduce(tensor, "max" | "sum")``, three collectives per chunk. With ``stats``
    (the merged (max, Σ exp) of an earlier pass) the softmax is exp(z − max) / Σ exp and nothing needs merging.
    With ``filter_eps`` (gradient filtering, see ``linear_cross_entropy``) the softmax part of a class's gradient is
    dropped for a chunk when p_nj < filter_eps in every counted row n of it; None runs exactly the unfiltered code.
    """
    n, v = input.shape[0], weight.shape[0]
    eps = label_smoothing
    keep_share, spread = smoothing_weights(eps, shard.vocab_size or v)  # q = (1 − ε) onehot + ε / V, never materialised
    losses, maxes, sums = input.new_empty(n), input.new_empty(n), input.new_empty(n)
    grad_input = torch.empty_like(input) if grads[0] else None
    acc = torch.float32 if weight.dtype in (torch.float16, torch.bfloat16) else weight.dtype  # sum chunks accurately
    grad_weight = torch.zeros_like(weight, dtype=acc) if grads[1] else None
    grad_bias = torch.zeros_like(bias, dtype=acc) if bias is not None and grads[2] else None
    gathered = []  # with filter_eps: the row slices whose softmax part was gathered over the kept classes
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        h, t, k = input[rows], target[rows], keep[rows]
        logits = h @ weight.T if bias is None else torch.addmm(bias, h, weight.T)  # (c, V): the only big buffer
        local_t = t - shard.start
        mine = k & (local_t >= 0) & (local_t < v)  # rows whose target class is in this shard
        t_safe = torch.where(mine, local_t, 0).long()
        if stats is None:
            z_t = torch.where(mine, logits.gather(1, t_safe[:, None]).squeeze(1), 0.0)
            qz = keep_share * z_t + spread * logits.sum(1) if eps else z_t  # Σ_c q_c z_c, this shard
            m = shard.all_reduce(logits.amax(1), "max")  # collective 1: max over all shards
            logits.sub_(m[:, None]).exp_()  # in place: e^{z − m}
            s = shard.all_reduce(logits.sum(1), "sum")  # collective 2: Σ exp, all shards
            qz = shard.all_reduce(qz, "sum")  # collective 3: Σ_c q_c z_c, all shards
            maxes[rows], sums[rows] = m, s
            losses[rows] = torch.where(k, m + s.log() - qz, 0.0)  # lse − Σ_c q_c z_c
        else:  # the same operations as above, so a second backward gives the same bits
            m, s = stats[0][rows], stats[1][rows]
            logits.sub_(m[:, None]).exp_()
        if not any(grads):
            del logits  # free this chunk's logits before the next chunk allocates its own
            continue
        dz = logits.div_(s[:, None])  # in place: softmax p; then ∂ℓ/∂z = p − q
        if filter_eps is not None:
            kept = _kept_classes(dz, k, filter_eps)
            kept_classes = kept.nonzero().squeeze(1)
            if kept_classes.numel() <= GATHER_BELOW * v:  # few classes kept: the matmuls over those alone
                _add_kept_softmax_part(dz, kept_classes, h, weight, torch.where(k, row_scale[rows], 0.0),
                                       None if grad_input is None else grad_input[rows], grad_weight, grad_bias)
                gathered.append(rows)
                del logits, dz
                continue
            if kept_classes.numel() < v:  # most kept: the dense matmuls below, the dropped columns zeroed
                dz.index_fill_(1, (~kept).nonzero().squeeze(1), 0.0)
        dz.scatter_add_(1, t_safe[:, None], mine.to(dz.dtype).mul_(-keep_share)[:, None])  # − (1 − ε) onehot
        if eps:
            dz.sub_(spread)
        dz.mul_(torch.where(k, row_scale[rows], 0.0)[:, None])
        if grad_input is not None:
            torch.mm(dz, weight, out=grad_input[rows])
        if grad_weight is not None:
            grad_weight.addmm_(dz.T.to(acc), h.to(acc))
        if grad_bias is not None:
            grad_bias.add_(dz.sum(0, dtype=acc))
        del logits, dz  # free this chunk's logits before the next chunk allocates its own
    if gathered:  # their one-hot and smoothing parts, for all the gathered chunks at once
        rows = torch.zeros(n, dtype=torch.bool)
        for chunk in gathered:
            rows[chunk] = True
        _add_target_parts(rows, input, weight, target, keep, row_scale, shard, keep_share, spread, grad_input,
                          grad_weight, grad_bias)
    if acc != weight.dtype:
        grad_weight = None if grad_weight is None else grad_weight.to(weight.dtype)
        grad_bias = None if grad_bias is None else grad_bias.to(bias.dtype)
    return losses, (maxes, sums), grad_input, grad_weight, grad_bias


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Forward computes the loss and, in the same pass over the chunks, the gradients; backward hands them over.

    ``shard`` (notebook 11) says which classes ``linear_weight`` holds and how to merge with the other shards; its
    backward never merges anything: the merged (max, Σ exp) from forward make each shard's softmax on its own.
    ``filter_eps`` (None: exact) filters the gradients in both passes, see ``linear_cross_entropy``.
    """

    @staticmethod
    def forward(ctx, input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk_size,
                shard=WholeVocabulary, filter_eps=None):
        keep = target != ignore_index
        counted = keep.sum()
        grads = ctx.needs_input_grad[:3] if reduction != "none" else (False, False, False)
        scale = 1.0 / counted.clamp(min=1).to(input.dtype) if reduction == "mean" else input.new_tensor(1.0)
        with torch.no_grad():
            losses, stats, g_in, g_w, g_b = _chunk_pass(input, linear_weight, linear_bias, target, keep, label_smoothing,
                                                       chunk_size, scale.expand(input.shape[0]), grads, shard,
                                                       filter_eps=filter_eps)
        ctx.save_for_backward(input, linear_weight, linear_bias, target, keep, *stats)  # inputs, and 2N numbers
        ctx.settings = (reduction, label_smoothing, chunk_size, scale, shard, filter_eps)
        # Not in save_for_backward: holding them there would make autograd copy them into .grad
        ctx.grads = (g_in, g_w, g_b) if reduction != "none" else None
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        return losses.sum() / counted if counted > 0 else losses.sum() * float("nan")  # all ignored: nan, as torch

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        reduction, label_smoothing, chunk_size, scale, shard, filter_eps = ctx.settings
        grads, ctx.grads = ctx.grads, None
        if grads is not None:  # computed in forward for a grad_output of 1
            if bool(grad_output != 1):
                grads = tuple(None if g is None else g * grad_output for g in grads)
            g_in, g_w, g_b = grads
            del grads  # only the returned references remain, so autograd takes the tensors without a copy
        else:  # reduction='none' (per-row grad_output), or a second backward (retain_graph): one more pass
            input, weight, bias, target, keep, *stats = ctx.saved_tensors
            row_scale = grad_output if reduction == "none" else (grad_output * scale).expand(input.shape[0])
            *_, g_in, g_w, g_b = _chunk_pass(input, weight, bias, target, keep, label_smoothing, chunk_size,
                                             row_scale, ctx.needs_input_grad[:3], shard, stats=stats, filter_eps=filter_eps)
        return g_in, g_w, g_b, None, None, None, None, None, None, None


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, reduction="mean", ignore_index=-100,
                         label_smoothing=0.0, chunk_size=256, filter_eps=None):
    """cross_entropy(input @ linear_weightᵀ + linear_bias, target), holding at most (chunk_size × V) logits at once.

    input (N, D), linear_weight (V, D), target (N,) class indices. Same keyword names as torch's
    ``F.linear_cross_entropy`` (class ``weight`` and probability targets are not supported). Peak extra
    memory: one chunk of logits plus the gradients themselves (N × D and V × D). The gradients are computed in
    forward and held until backward, so summing several such losses before one backward holds several gradients
    (torch's chunked path makes the same trade). With autograd off (``torch.no_grad()``) no gradient is computed.

    ``filter_eps`` (gradient filtering, Cut Cross-Entropy, Wijmans et al., ICLR 2025): None (default) gives the exact
    gradients. A float 0 < ε_f < 1 drops, for each chunk of rows, the softmax part p_nj of the gradient of every class j
    with p_nj < ε_f in all the chunk's counted rows n, and computes ∂H and ∂W over the kept classes alone; the one-hot
    and label-smoothing parts are always exact, and so is the loss. Each dropped entry changes ∂ℓ_n/∂z_nj by less
    than ε_f. It pays off when the softmax is peaked (a trained model's); ``skipped_fraction`` says how much is dropped.
    """
    _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk_size)
    filter_eps = _check_filter_eps(filter_eps)
    target = target.long()  # before any comparison: uint8 would wrap ignore_index=-100 to 156
    tensors = [t for t in (input, linear_weight, linear_bias) if t is not None]
    if not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)):  # evaluation: the loss alone
        keep = target != ignore_index
        losses, *_ = _chunk_pass(input, linear_weight, linear_bias, target, keep, float(label_smoothing), chunk_size,
                                 None, (False, False, False))
        if reduction == "none":
            return losses
        return losses.sum() if reduction == "sum" else losses.sum() / keep.sum()  # all ignored: 0/0 = nan, as torch
    return ChunkedLinearCrossEntropy.apply(input, linear_weight, linear_bias, target, reduction, ignore_index,
                                           float(label_smoothing), chunk_size, WholeVocabulary, filter_eps)


# ----------------------------------------------------------------------------- gradient filtering: what it drops, test problems


def _chunk_softmax(h, weight, bias):
    """softmax(h Wᵀ + b) of one chunk (c × V) by the operations ``_chunk_pass`` uses, so with the same bits."""
    logits = h @ weight.T if bias is None else torch.addmm(bias, h, weight.T)
    logits.sub_(logits.amax(1)[:, None]).exp_()
    return logits.div_(logits.sum(1)[:, None])


def skipped_fraction(input, linear_weight, target, *, linear_bias=None, filter_eps, chunk_size=256, ignore_index=-100):
    """The share of the softmax gradient that ``linear_cross_entropy(..., filter_eps, chunk_size)`` drops: the fraction
    of (counted row n, class j) pairs whose class j is skipped in n's chunk, Σ_chunks c_k · |skipped_k| / (N_counted · V),
    with c_k the counted rows of chunk k and skipped_k its classes with p_nj < filter_eps in all of them.

    input (N, D), linear_weight (V, D), target (N,); rows with target == ignore_index are not counted (nan if none is).
    This is also the share of the two gradient matmuls' work that is saved, up to the ignored rows. No gradient.
    """
    _check_args(input, linear_weight, linear_bias, target, "mean", ignore_index, 0.0, chunk_size)
    filter_eps = _check_filter_eps(filter_eps, allow_none=False)
    keep = target.long() != ignore_index
    skipped = 0
    with torch.no_grad():
        for start in range(0, input.shape[0], chunk_size):
            rows = slice(start, start + chunk_size)
            k = keep[rows]
            if k.any():
                p = _chunk_softmax(input[rows], linear_weight, linear_bias)
                skipped += int(k.sum()) * int((~_kept_classes(p, k, filter_eps)).sum())
    counted = int(keep.sum())
    return skipped / (counted * linear_weight.shape[0]) if counted else float("nan")


def softmax_summary(input, linear_weight, *, linear_bias=None, filter_eps=(), chunk_size=256):
    """Means over the rows n of p_n = softmax(input_n Wᵀ + b): the entropy −Σ_j p_nj log p_nj (nats), the largest
    probability max_j p_nj, and for each ε in ``filter_eps`` the mass below it, Σ_{j: p_nj < ε} p_nj (the most that
    filtering can drop from a row). A dict; computed in float64, ``chunk_size`` rows at a time."""
    _check_args(input, linear_weight, linear_bias, torch.zeros(input.shape[0], dtype=torch.long), "mean", -100, 0.0,
                chunk_size)
    eps_list = [_check_filter_eps(e, allow_none=False) for e in filter_eps]
    w = linear_weight.double()
    b = None if linear_bias is None else linear_bias.double()
    entropy, largest, below = 0.0, 0.0, [0.0] * len(eps_list)
    with torch.no_grad():
        for start in range(0, input.shape[0], chunk_size):
            z = input[start:start + chunk_size].double() @ w.T
            log_p = torch.log_softmax(z if b is None else z + b, dim=1)
            p = log_p.exp()
            entropy -= (p * log_p).sum().item()  # p log p = 0 where p underflows to 0
            largest += p.amax(1).sum().item()
            for i, e in enumerate(eps_list):
                below[i] += p.where(p < e, 0.0).sum().item()
    n = max(input.shape[0], 1)
    return {"entropy": entropy / n, "max_probability": largest / n,
            "mass_below": {e: m / n for e, m in zip(eps_list, below)}}


def output_layer_problem(n, d, v, *, peaked=True, seed=0, strength=20.0, dtype=torch.float32):
    """Hidden states (N, D), an output weight (V, D) and targets (N,) for an output layer whose softmax looks like a
    trained model's (``peaked``) or like one at initialisation (flat). Made from ``seed`` alone:

    - The vocabulary is sorted by frequency: class j has the Zipf frequency f_j ∝ 1 / (j + 1).
    - Weight row W_j = c_j + (log f_j − log f_0) / ρ · r: a random context part c_j (entries N(0, 1/D)) orthogonal to a
      random unit "frequency direction" r, along which a weight row carries its class's log-frequency (ρ, the RMS of
      the log-frequencies, makes that part about as large as the context part).
    - Peaked: row n has k_n ~ U{1, …, 8} plausible classes drawn from the Zipf law (without repeats), and
      h_n = s_n · u_n + ρ r + noise: u_n the unit vector along the sum of their context parts, s_n a log-normal
      confidence (median ``strength``, σ = 0.3), noise N(0, 0.25/D) per entry. So z_nj = s_n ⟨u_n, c_j⟩ + log f_j − log f_0
      + small: the plausible classes stand out by about s_n / √k_n, on top of the unigram log-frequency that a
      trained model's logits carry, and the others spread below them.
    - Flat: h_n ~ N(0, I) (as after a LayerNorm) and the same weight scaled to entries of standard deviation 0.02
      (GPT-2's initialisation): logits of standard deviation ≈ 0.02 √D, a softmax close to uniform (entropy ≈ log V).
    - Targets are sampled from the model's own softmax: a calibrated model, as a trained one roughly is.
    """
    check.positive_int(n, "n")
    check.positive_int(d, "d", minimum=2)  # the frequency direction and at least one other
    check.positive_int(v, "v")
    strength = check.finite_number(strength, "strength", low=0.0)
    g = torch.Generator().manual_seed(seed)
    log_f = -torch.arange(1, v + 1, dtype=torch.float64).log()  # log f_j − log f_0 for f_j ∝ 1 / (j + 1)
    rho = log_f.square().mean().sqrt().clamp(min=1.0)
    r = torch.randn(d, generator=g, dtype=torch.float64)
    r /= r.norm()
    context = torch.randn(v, d, generator=g, dtype=torch.float64) / d**0.5
    context -= (context @ r)[:, None] * r  # orthogonal to r
    weight = context + (log_f / rho)[:, None] * r
    if peaked:
        k_max = min(8, v)
        k = torch.randint(1, k_max + 1, (n, 1), generator=g)
        plausible = torch.multinomial(log_f.exp().expand(n, v), k_max, replacement=False, generator=g)
        u = torch.einsum("nk,nkd->nd", (torch.arange(k_max) < k).double(), context[plausible])
        u /= u.norm(dim=1, keepdim=True).clamp(min=1e-12)
        s = strength * torch.exp(0.3 * torch.randn(n, 1, generator=g, dtype=torch.float64))
        hidden = s * u + rho * r + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64) / d**0.5
    else:
        hidden = torch.randn(n, d, generator=g, dtype=torch.float64)
        weight *= 0.02 / weight.std()
    target = torch.empty(n, dtype=torch.long)
    for start in range(0, n, 1024):  # sampled from the model's softmax, 1024 rows at a time
        p = torch.softmax(hidden[start:start + 1024] @ weight.T, dim=1)
        target[start:start + 1024] = torch.multinomial(p, 1, generator=g).squeeze(1)
    return hidden.to(dtype), weight.to(dtype), target


# ----------------------------------------------------------------------------- the recorded benchmark


def recorded_benchmark():
    """What ``python benchmarks/large_vocab.py --record`` measured: a dict with the shape, the machine, and for each
    method a list with one entry per vocabulary size (``v``, ``peak_mb``, median ``seconds``, ``seconds_runs``,
    ``max_rel_diff`` against naive). Read from a file, so a notebook showing it stores the same output on every run."""
    text = resources.files(__package__).joinpath("recorded", "large_vocab.json").read_text(encoding="utf-8")
    return json.loads(text)


def recorded_filtering():
    """What ``python benchmarks/gradient_filtering.py --record`` measured: a dict with the shape, the machine, the two
    problems' softmax statistics, and for each problem ("peaked", "flat") a list with one entry per ``filter_eps``
    (median ``seconds`` with and without filtering, their runs, ``speedup``, ``skipped_fraction``, the gradient errors).
    Read from a file, so a notebook showing it stores the same output on every run."""
    text = resources.files(__package__).joinpath("recorded", "gradient_filtering.json").read_text(encoding="utf-8")
    return json.loads(text)
