"""Training over a large vocabulary from a few sampled classes (groundwork for notebook 12), in torch.

- ``log_uniform_log_probs``, ``log_uniform_candidates``: the Zipfian proposal of TensorFlow's
  ``log_uniform_candidate_sampler``, Q(k) = (log(k + 2) − log(k + 1)) / log(V + 1), and i.i.d. draws from it;
- ``sampled_softmax_loss``: softmax over the target and S sampled classes only, with the log-Q correction
  (Bengio & Senécal 2008; Jean et al. 2015; TensorFlow's ``sampled_softmax_loss``);
- ``negative_sampling_loss``: word2vec's −log σ(z_t) − Σ_k log σ(−z_{n_k}) (Mikolov et al. 2013);
- ``sampled_softmax_bias``: how far the sampled loss and its gradients are from the full softmax's on a toy
  problem, for several S, with and without the correction (means and standard errors over repeated draws).

The losses take what a model's output layer has: hidden states ``input`` (N, D), the output weight
``linear_weight`` (V, D) and optional ``linear_bias`` (V,), and class-index ``target`` (N,) (the names of
``large_vocab.linear_cross_entropy``, whose argument checks they share). They compute logits only for the classes
they need, N × (S + 1) instead of N × V, and autograd differentiates them (the gradient reaches only the sampled
and target rows of the weight). Tested in ``tests/unit/test_sampled.py``.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import validation as check
from .large_vocab import _check_args

# ----------------------------------------------------------------------------- argument checks of this module


def _generator(rng):
    """A NumPy ``Generator``: the draws are then reproducible from its seed, as every random choice in the course."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); got {type(rng).__name__}")
    return rng


def _class_ids(ids, name, vocab_size, ndims=(1,)):
    """``ids`` is an int64 tensor of class indices in 0 … V − 1 with one of ``ndims`` dimensions."""
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.int64:
        raise TypeError(f"{name} must be a torch tensor of class indices of dtype int64; got "
                        f"{getattr(ids, 'dtype', type(ids).__name__)}: use torch.as_tensor({name}, dtype=torch.int64)")
    if ids.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimension(s); got shape {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = ids.min().item() if ids.min() < 0 else ids.max().item()
        raise ValueError(f"{name} holds class {bad}, out of range for {vocab_size} classes (0..{vocab_size - 1})")
    return ids


def _log_q(log_q, vocab_size):
    """The proposal's log-probabilities: a floating tensor of shape (V,), finite (a sampled class has Q > 0)."""
    if not isinstance(log_q, torch.Tensor) or not log_q.is_floating_point():
        raise TypeError(f"log_q must be a floating-point torch tensor of shape ({vocab_size},), the proposal's "
                        f"log-probabilities; got {getattr(log_q, 'dtype', type(log_q).__name__)}")
    if tuple(log_q.shape) != (vocab_size,):
        raise ValueError(f"log_q must have shape ({vocab_size},), one log-probability per class; got {tuple(log_q.shape)}")
    if not torch.isfinite(log_q).all():
        raise ValueError("log_q must be finite: a class with Q = 0 is never sampled, and as a target its correction "
                         "−log Q would be infinite; mix in a little of the uniform distribution")
    return log_q


def _row_logits(input, linear_weight, linear_bias, classes):
    """z_n = input_n · W[classes_n] + b[classes_n] for classes of shape (N,) or (N, K): one set per row."""
    w = linear_weight[classes]  # (N, D) or (N, K, D)
    z = (input * w).sum(-1) if classes.ndim == 1 else torch.einsum("nd,nkd->nk", input, w)
    return z if linear_bias is None else z + linear_bias[classes]


def _shared_logits(input, linear_weight, linear_bias, classes):
    """z_{n,k} = input_n · W[classes_k] + b[classes_k] for classes (K,) shared by every row: (N, K)."""
    z = input @ linear_weight[classes].T
    return z if linear_bias is None else z + linear_bias[classes]


def _reduce(loss, keep, reduction):
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / keep.sum()  # every target ignored: 0/0 = nan, as torch


# ----------------------------------------------------------------------------- the log-uniform (Zipfian) proposal


def log_uniform_log_probs(vocab_size, dtype=torch.float64):
    """log Q(k) for Q(k) = (log(k + 2) − log(k + 1)) / log(V + 1), k = 0 … V − 1: a tensor of shape (V,).

    The classes must be sorted by decreasing frequency (class 0 the most frequent), as TensorFlow's
    ``log_uniform_candidate_sampler`` assumes. Q sums to 1 exactly (the logs telescope to log(V + 1)).
    """
    v = check.positive_int(vocab_size, "vocab_size")
    k = torch.arange(v, dtype=torch.float64)
    return (torch.log(torch.log1p(1 / (k + 1))) - math.log(math.log(v + 1))).to(dtype)


def log_uniform_candidates(vocab_size, n_samples, rng):
    """S i.i.d. draws from Q by inversion, k = ⌊exp(u · log(V + 1))⌋ − 1 with u ~ U[0, 1): (ids, log Q(ids)).

    ``ids`` is an int64 tensor (S,) and may repeat a class (sampling with replacement, so that S·Q(k) is the
    expected count of class k); ``rng`` is a NumPy ``Generator``. TensorFlow's sampler draws without replacement
    by default (``unique=True``) and corrects with other expected counts; that variant is not here.
    """
    v = check.positive_int(vocab_size, "vocab_size")
    s = check.positive_int(n_samples, "n_samples")
    u = _generator(rng).random(s)
    ids = np.minimum(np.floor(np.exp(u * math.log(v + 1))).astype(np.int64) - 1, v - 1)  # exp may round up to V + 1
    ids = torch.from_numpy(ids)
    return ids, log_uniform_log_probs(v)[ids]


# ----------------------------------------------------------------------------- the losses


def sampled_softmax_loss(input, linear_weight, target, sampled, log_q, *, linear_bias=None, subtract_log_q=True,
                         remove_accidental_hits=False, ignore_index=-100, reduction="mean"):
    """ℓ_n = −(z_t − log Q(t)) + log Σ_{j ∈ {t} ∪ sampled} exp(z_j − log Q(j)), z = input_n Wᵀ + b on those classes.

    ``sampled`` (S,) int64 are class ids drawn from a proposal Q, shared by every row (as in TensorFlow), each copy
    of a repeated id counting once; ``log_q`` (V,) holds Q's log-probabilities (up to a constant: adding one to
    every log Q changes nothing). Without ``subtract_log_q`` the logits are used as they are, which biases the
    gradient towards the classes Q favours, however large S. The value is not an estimate of the full loss (it
    differs from it by about log(S·Q(t))); its gradient tends to the full gradient as S grows.

    ``remove_accidental_hits`` drops the sampled copies of each row's own target, as TensorFlow does. Its sampler
    draws without replacement (each class at most once); with draws with replacement (``log_uniform_candidates``)
    a frequent target is sampled about S·Q(t) times, and dropping all of them removes about p_t of the normaliser
    for good: the gradient stays biased however large S is (``sampled_softmax_bias`` measures it), hence the
    default False. With every class sampled once, hits removed and Q uniform, ℓ_n is exactly cross_entropy's.
    Returns a scalar, or (N,) for 'none'; 'mean' is over the targets that are not ``ignore_index``.
    """
    _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, 0.0, 1)
    v = linear_weight.shape[0]
    _class_ids(sampled, "sampled", v)
    _log_q(log_q, v)
    target = target.long()
    keep = target != ignore_index
    t = torch.where(keep, target, torch.zeros_like(target))
    z_true = _row_logits(input, linear_weight, linear_bias, t)  # (N,)
    z_sampled = _shared_logits(input, linear_weight, linear_bias, sampled)  # (N, S)
    if subtract_log_q:
        log_q = log_q.to(z_true.dtype)
        z_true = z_true - log_q[t]
        z_sampled = z_sampled - log_q[sampled]
    if remove_accidental_hits:
        z_sampled = z_sampled.masked_fill(sampled[None, :] == t[:, None], -math.inf)
    loss = torch.logsumexp(torch.cat([z_true[:, None], z_sampled], dim=1), dim=1) - z_true
    return _reduce(loss, keep, reduction)


def negative_sampling_loss(input, linear_weight, target, negatives, *, linear_bias=None, ignore_index=-100,
                           reduction="mean"):
    """ℓ_n = −log σ(z_{n,t}) − Σ_k log σ(−z_{n,n_k}): the target against K sampled negatives, each a binary choice.

    ``negatives`` is (K,) shared by every row or (N, K) one set per row (word2vec draws them from the unigram
    distribution raised to the power 3/4). No normalisation over the vocabulary: the scores are not log-probabilities.
    Returns a scalar, or (N,) for 'none'; 'mean' is over the targets that are not ``ignore_index``.
    """
    _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, 0.0, 1)
    _class_ids(negatives, "negatives", linear_weight.shape[0], ndims=(1, 2))
    if negatives.ndim == 2 and negatives.shape[0] != input.shape[0]:
        raise ValueError(f"negatives of shape (N, K) need one row per row of input (N={input.shape[0]}); "
                         f"got {tuple(negatives.shape)}")
    target = target.long()
    keep = target != ignore_index
    t = torch.where(keep, target, torch.zeros_like(target))
    z_true = _row_logits(input, linear_weight, linear_bias, t)
    if negatives.ndim == 1:
        z_neg = _shared_logits(input, linear_weight, linear_bias, negatives)
    else:
        z_neg = _row_logits(input, linear_weight, linear_bias, negatives)
    loss = -F.logsigmoid(z_true) - F.logsigmoid(-z_neg).sum(dim=1)
    return _reduce(loss, keep, reduction)


# ----------------------------------------------------------------------------- how biased is it?


def _toy_problem(n, d, v, rng, peaked):
    """Hidden states, weight, bias and targets of a toy output layer whose classes have Zipfian frequencies.

    The bias is log Q (a trained model's bias learns the log-frequencies, and Q is that proposal); the logits add
    h·w with standard deviation ``scale`` (1, or 3 when ``peaked``: each row's softmax then concentrates on a few
    classes, most of them rare under Q). The targets are drawn from the model's own softmax.
    """
    scale = 3.0 if peaked else 1.0
    h = torch.from_numpy(rng.standard_normal((n, d)))
    w = torch.from_numpy(rng.standard_normal((v, d)) * (scale / math.sqrt(d)))
    b = log_uniform_log_probs(v)
    p = torch.softmax(h @ w.T + b, dim=1).numpy()
    cdf = np.cumsum(p, axis=1)
    t = (cdf < rng.random((n, 1)) * cdf[:, -1:]).sum(axis=1).clip(max=v - 1)
    return h, w, b, torch.from_numpy(t.astype(np.int64))


def _mean_se(values):
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else math.nan


def sampled_softmax_bias(n=256, d=32, v=10_000, n_samples_list=(10, 100, 1000), repeats=20, seed=0, peaked=False,
                         remove_accidental_hits=False):
    """Sampled softmax against the full softmax (F.cross_entropy) on one toy problem, over ``repeats`` draws.

    For each S in ``n_samples_list`` and with and without the log-Q correction (the same S ids from the log-uniform
    proposal in both, redrawn at every repeat), a list of rows (dicts), each with the mean and standard error over
    the repeats of:
    - ``loss_gap``: sampled loss − full loss (both means over the N rows); not expected to vanish;
    - ``loss_gap_offset``: the same after subtracting log(S·Q̃(t)) from each row's sampled loss, with Q̃ = Q
      with the correction and Q̃ = 1/V without (what the uncorrected loss implicitly assumes); the offset does not
      depend on the model, so it changes no gradient, and with the correction this gap tends to 0 as S grows;
    - ``grad_input_error``, ``grad_weight_error``: ‖g − g_full‖ / ‖g_full‖ for the gradients with respect to the
      hidden states (N, D) and the weight (V, D), one draw at a time (bias and noise);
    and ``grad_input_error_of_mean``: the same for the gradient averaged over the repeats, which keeps the bias and
    divides the noise's variance by ``repeats`` (no standard error). ``n`` rows, ``d`` hidden size, ``v`` classes;
    ``peaked`` makes each row's softmax concentrate on a few classes (see ``_toy_problem``); ``remove_accidental_hits``
    is passed to ``sampled_softmax_loss``. About 1 s of CPU with the defaults (one thread).
    """
    n, d, v, repeats = (check.positive_int(a, name) for a, name in ((n, "n"), (d, "d"), (v, "v"), (repeats, "repeats")))
    sizes = [check.positive_int(s, "each entry of n_samples_list") for s in n_samples_list]
    if not sizes:
        raise ValueError("n_samples_list must hold at least one sample size S, e.g. (10, 100, 1000)")
    rng = np.random.default_rng(check.positive_int(seed, "seed", minimum=0))
    h, w, b, t = _toy_problem(n, d, v, rng, bool(peaked))
    h.requires_grad_(True)
    w.requires_grad_(True)
    full = F.cross_entropy(F.linear(h, w, b), t)
    g_h, g_w = torch.autograd.grad(full, (h, w))
    log_q = b
    rows = []
    for s in sizes:
        draws = [log_uniform_candidates(v, s, rng)[0] for _ in range(repeats)]
        for corrected in (True, False):
            offset = torch.log(s * (log_q[t].exp() if corrected else torch.full_like(log_q[t], 1 / v)))
            stats = {"loss_gap": [], "loss_gap_offset": [], "grad_input_error": [], "grad_weight_error": []}
            sum_g_h = torch.zeros_like(g_h)
            for ids in draws:
                per_row = sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b, subtract_log_q=corrected,
                                               remove_accidental_hits=remove_accidental_hits, reduction="none")
                loss = per_row.mean()
                s_h, s_w = torch.autograd.grad(loss, (h, w))
                sum_g_h += s_h
                stats["loss_gap"].append((loss - full).item())
                stats["loss_gap_offset"].append(((per_row - offset).mean() - full).item())
                stats["grad_input_error"].append((torch.linalg.norm(s_h - g_h) / torch.linalg.norm(g_h)).item())
                stats["grad_weight_error"].append((torch.linalg.norm(s_w - g_w) / torch.linalg.norm(g_w)).item())
            row = {"n_samples": s, "log_q_correction": corrected}
            for name, values in stats.items():
                row[name], row[name + "_se"] = _mean_se(values)
            row["grad_input_error_of_mean"] = (torch.linalg.norm(sum_g_h / repeats - g_h) / torch.linalg.norm(g_h)).item()
            rows.append(row)
    return rows
