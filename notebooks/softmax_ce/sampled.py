"""Training over a large vocabulary from a few sampled classes (groundwork for notebook 12), in torch.

- ``log_uniform_log_probs``, ``log_uniform_candidates``: the Zipfian proposal of TensorFlow's
  ``log_uniform_candidate_sampler``, Q(k) = (log(k + 2) − log(k + 1)) / log(V + 1), and i.i.d. draws from it;
- ``sampled_softmax_loss``: softmax over the target and S sampled classes only, with the log-Q correction
  (Bengio & Senécal 2008; Jean et al. 2015; TensorFlow's ``sampled_softmax_loss``);
- ``negative_sampling_loss``: word2vec's −log σ(z_t) − Σ_k log σ(−z_{n_k}) (Mikolov et al. 2013);
- ``toy_problem``: an output layer whose classes have Zipfian frequencies, the targets drawn from its softmax;
- ``sampled_softmax_bias``: how far the sampled loss and its gradients are from the full softmax's on a toy
  problem, for several S, with and without the correction (means and standard errors over repeated draws);
- ``recorded_benchmark``: what ``benchmarks/sampled_softmax.py --record`` measured (time against the full softmax, and
  that bias), read from a file.

The losses take what a model's output layer has: hidden states ``input`` (N, D), the output weight
``linear_weight`` (V, D) and optional ``linear_bias`` (V,), and class-index ``target`` (N,) (the names of
``large_vocab.linear_cross_entropy``, whose argument checks they share). They compute logits only for the classes
they need, N × (S + 1) instead of N × V, and autograd differentiates them (the gradient reaches only the sampled
and target rows of the weight). Tested in ``tests/unit/test_sampled.py``.
"""

import json
import math
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from . import validation as check
from .large_vocab import _check_args

# ----------------------------------------------------------------------------- logits of a few classes


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
    u = check.numpy_generator(rng).random(s)
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
    check.class_index_tensor(sampled, "sampled", v)
    check.log_probability_tensor(log_q, "log_q", v)
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
    check.class_index_tensor(negatives, "negatives", linear_weight.shape[0], ndims=(1, 2))
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


def toy_problem(n, d, v, rng, peaked=False):
    """Hidden states H (N, D), weight W (V, D), bias b (V,) and targets t (N,) of a toy output layer, float64, whose
    classes have Zipfian frequencies: b = log Q, the log-uniform Q of ``log_uniform_log_probs`` (a trained model's
    bias learns the log-frequencies, and Q is that proposal), and t is drawn from the model's own softmax(H Wᵀ + b).

    H is standard normal and W normal with standard deviation ``scale`` / √D, so the logits add H·W of standard
    deviation ``scale`` (1, or 3 when ``peaked``: each row's softmax then concentrates on a few classes, most of
    them rare under Q). ``rng`` is a NumPy ``Generator``: the same seed gives the same problem.
    """
    n, d, v = (check.positive_int(a, name) for a, name in ((n, "n"), (d, "d"), (v, "v")))
    rng = check.numpy_generator(rng)
    scale = 3.0 if peaked else 1.0
    h = torch.from_numpy(rng.standard_normal((n, d)))
    w = torch.from_numpy(rng.standard_normal((v, d)) * (scale / math.sqrt(d)))
    b = log_uniform_log_probs(v)
    u = rng.random((n, 1))
    t = np.empty(n, dtype=np.int64)
    for start in range(0, n, 256):  # 256 rows of (N × V) probabilities at a time
        rows = slice(start, start + 256)
        cdf = np.cumsum(torch.softmax(h[rows] @ w.T + b, dim=1).numpy(), axis=1)
        t[rows] = (cdf < u[rows] * cdf[:, -1:]).sum(axis=1).clip(max=v - 1)  # inversion: the first k with cdf_k ≥ u
    return h, w, b, torch.from_numpy(t)


def _mean_se(values):
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else math.nan


def _error_of_mean(total, total_sq, count, exact):
    """Mean ḡ = Σ g / R of R draws against the exact g, over ‖g‖: (‖ḡ − g‖, √(tr Ĉov / R), √(‖ḡ − g‖² − tr Ĉov / R)).

    E‖ḡ − g‖² = ‖E[ḡ] − g‖² + tr Cov / R: the second number is the error the mean would have from the noise alone,
    tr Ĉov = Σ_i (Σ g_i² − (Σ g_i)² / R) / (R − 1) the sample variances summed over the entries; the third estimates
    the bias ‖E[g_sampled] − g‖ (0 where the noise explains the whole error; both NaN for R = 1).
    """
    norm = torch.linalg.norm(exact)
    error_sq = torch.linalg.norm(total / count - exact) ** 2
    if count < 2:
        return (error_sq.sqrt() / norm).item(), math.nan, math.nan
    noise_sq = (total_sq - total * total / count).sum().clamp(min=0) / (count - 1) / count
    bias_sq = (error_sq - noise_sq).clamp(min=0)
    return (error_sq.sqrt() / norm).item(), (noise_sq.sqrt() / norm).item(), (bias_sq.sqrt() / norm).item()


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
    and, for the gradient averaged over the R = ``repeats`` draws, which keeps the bias and divides the noise's variance
    by R (``_error_of_mean``), for the hidden states (``grad_input_…``) and the weight (``grad_weight_…``):
    - ``grad_input_error_of_mean``: ‖ḡ − g_full‖ / ‖g_full‖;
    - ``grad_input_error_of_mean_noise``: √(tr Ĉov(g) / R) / ‖g_full‖, the part of that error the noise alone explains
      (the yardstick: an unbiased gradient's error of the mean is about this large);
    - ``grad_input_bias``: √max(0, error² − noise²), an estimate of ‖E[g_sampled] − g_full‖ / ‖g_full‖.
    ``n`` rows, ``d`` hidden size, ``v`` classes; ``peaked`` makes each row's softmax concentrate on a few classes
    (see ``toy_problem``); ``remove_accidental_hits`` is passed to ``sampled_softmax_loss``. About 1 s of CPU with
    the defaults (one thread).
    """
    n, d, v, repeats = (check.positive_int(a, name) for a, name in ((n, "n"), (d, "d"), (v, "v"), (repeats, "repeats")))
    sizes = [check.positive_int(s, "each entry of n_samples_list") for s in n_samples_list]
    if not sizes:
        raise ValueError("n_samples_list must hold at least one sample size S, e.g. (10, 100, 1000)")
    rng = np.random.default_rng(check.positive_int(seed, "seed", minimum=0))
    h, w, b, t = toy_problem(n, d, v, rng, bool(peaked))
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
            sums = {part: (torch.zeros_like(g), torch.zeros_like(g)) for part, g in (("input", g_h), ("weight", g_w))}  # Σ g, Σ g²
            for ids in draws:
                per_row = sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b, subtract_log_q=corrected,
                                               remove_accidental_hits=remove_accidental_hits, reduction="none")
                loss = per_row.mean()
                s_h, s_w = torch.autograd.grad(loss, (h, w))
                for (total, total_sq), g in ((sums["input"], s_h), (sums["weight"], s_w)):
                    total.add_(g)
                    total_sq.addcmul_(g, g)
                stats["loss_gap"].append((loss - full).item())
                stats["loss_gap_offset"].append(((per_row - offset).mean() - full).item())
                stats["grad_input_error"].append((torch.linalg.norm(s_h - g_h) / torch.linalg.norm(g_h)).item())
                stats["grad_weight_error"].append((torch.linalg.norm(s_w - g_w) / torch.linalg.norm(g_w)).item())
            row = {"n_samples": s, "log_q_correction": corrected}
            for name, values in stats.items():
                row[name], row[name + "_se"] = _mean_se(values)
            for part, exact in (("input", g_h), ("weight", g_w)):
                error, noise, bias = _error_of_mean(*sums[part], repeats, exact)
                row.update({f"grad_{part}_error_of_mean": error, f"grad_{part}_error_of_mean_noise": noise,
                            f"grad_{part}_bias": bias})
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------- the recorded benchmark


def recorded_benchmark():
    """What ``python benchmarks/sampled_softmax.py --record`` measured: a dict with the ``shape``, the ``problem`` (how
    it is made), the ``machine``, ``timing`` (the full softmax's and, per S, the sampled loss's median forward +
    backward seconds, every run, and the ratio to the full one) and ``bias`` (the rows of ``sampled_softmax_bias``).
    Read from a file, so a notebook showing it stores the same output on every run."""
    text = resources.files(__package__).joinpath("recorded", "sampled_softmax.json").read_text(encoding="utf-8")
    return json.loads(text)
