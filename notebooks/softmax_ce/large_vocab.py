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


def _chunk_pass(input, weight, bias, target, keep, label_smoothing, chunk_size, row_scale, grads,
                shard=WholeVocabulary, stats=None):
    """One walk over row chunks: per-row losses and softmax statistics (max, Σ exp), and (if ``grads``) ∂(Σ_n row_scale_n ℓ_n) for
    input, weight, bias.

    ``weight`` may hold only the classes ``shard.start`` … ``shard.start + len(weight) − 1`` of a vocabulary of
    ``shard.vocab_size`` (notebook 11): then each row's max, Σ exp and Σ_c q_c z_c over this shard are merged with
    the other shards' by ``shard.all_reduce(tensor, "max" | "sum")``, three collectives per chunk. With ``stats``
    (the merged (max, Σ exp) of an earlier pass) the softmax is exp(z − max) / Σ exp and nothing needs merging.
    """
    n, v = input.shape[0], weight.shape[0]
    eps = label_smoothing
    keep_share, spread = smoothing_weights(eps, shard.vocab_size or v)  # q = (1 − ε) onehot + ε / V, never materialised
    losses, maxes, sums = input.new_empty(n), input.new_empty(n), input.new_empty(n)
    grad_input = torch.empty_like(input) if grads[0] else None
    acc = torch.float32 if weight.dtype in (torch.float16, torch.bfloat16) else weight.dtype  # sum chunks accurately
    grad_weight = torch.zeros_like(weight, dtype=acc) if grads[1] else None
    grad_bias = torch.zeros_like(bias, dtype=acc) if bias is not None and grads[2] else None
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
    if acc != weight.dtype:
        grad_weight = None if grad_weight is None else grad_weight.to(weight.dtype)
        grad_bias = None if grad_bias is None else grad_bias.to(bias.dtype)
    return losses, (maxes, sums), grad_input, grad_weight, grad_bias


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Forward computes the loss and, in the same pass over the chunks, the gradients; backward hands them over.

    ``shard`` (notebook 11) says which classes ``linear_weight`` holds and how to merge with the other shards; its
    backward never merges anything: the merged (max, Σ exp) from forward make each shard's softmax on its own.
    """

    @staticmethod
    def forward(ctx, input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk_size,
                shard=WholeVocabulary):
        keep = target != ignore_index
        counted = keep.sum()
        grads = ctx.needs_input_grad[:3] if reduction != "none" else (False, False, False)
        scale = 1.0 / counted.clamp(min=1).to(input.dtype) if reduction == "mean" else input.new_tensor(1.0)
        with torch.no_grad():
            losses, stats, g_in, g_w, g_b = _chunk_pass(input, linear_weight, linear_bias, target, keep, label_smoothing,
                                                       chunk_size, scale.expand(input.shape[0]), grads, shard)
        ctx.save_for_backward(input, linear_weight, linear_bias, target, keep, *stats)  # inputs, and 2N numbers
        ctx.settings = (reduction, label_smoothing, chunk_size, scale, shard)
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
        reduction, label_smoothing, chunk_size, scale, shard = ctx.settings
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
                                             row_scale, ctx.needs_input_grad[:3], shard, stats=stats)
        return g_in, g_w, g_b, None, None, None, None, None, None


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, reduction="mean", ignore_index=-100,
                         label_smoothing=0.0, chunk_size=256):
    """cross_entropy(input @ linear_weightᵀ + linear_bias, target), holding at most (chunk_size × V) logits at once.

    input (N, D), linear_weight (V, D), target (N,) class indices. Same keyword names as torch's
    ``F.linear_cross_entropy`` (class ``weight`` and probability targets are not supported). Peak extra
    memory: one chunk of logits plus the gradients themselves (N × D and V × D). The gradients are computed in
    forward and held until backward, so summing several such losses before one backward holds several gradients
    (torch's chunked path makes the same trade). With autograd off (``torch.no_grad()``) no gradient is computed.
    """
    _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk_size)
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
                                           float(label_smoothing), chunk_size)


# ----------------------------------------------------------------------------- the recorded benchmark


def recorded_benchmark():
    """What ``python benchmarks/large_vocab.py --record`` measured: a dict with the shape, the machine, and for each
    method a list with one entry per vocabulary size (``v``, ``peak_mb``, median ``seconds``, ``seconds_runs``,
    ``max_rel_diff`` against naive). Read from a file, so a notebook showing it stores the same output on every run."""
    text = resources.files(__package__).joinpath("recorded", "large_vocab.json").read_text(encoding="utf-8")
    return json.loads(text)
