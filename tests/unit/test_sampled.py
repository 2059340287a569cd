"""Sampled softmax, negative sampling and the log-uniform proposal (softmax_ce.sampled): exact identities, a
reference written out here, torch's cross-entropy and BCE, bad input, and the bias measurement with its error bars.

The exact identities cannot pass by accident: with every class sampled once, hits removed and Q uniform the
sampled loss is F.cross_entropy (and with hits kept it is F.cross_entropy + log(1 + p_t)); with Q the model's own
softmax every corrected logit equals log Z, so the loss is log(S + 1) for every draw and the expected gradient,
summed over every possible draw, is exactly S / (S + 1) times the full one.
"""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from softmax_ce import sampled as SS

REDUCTIONS = ("mean", "sum", "none")


def layer(n, d, v, seed=0, bias=True, scale=1.0):
    """Hidden states (N, D), weight (V, D), bias (V,) or None, targets (N,): float64, requiring gradients."""
    g = torch.Generator().manual_seed(seed)
    h = (torch.randn(n, d, generator=g, dtype=torch.float64) * scale).requires_grad_()
    w = torch.randn(v, d, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(v, generator=g, dtype=torch.float64).requires_grad_() if bias else None
    t = torch.randint(0, v, (n,), generator=g)
    return h, w, b, t


def grads(loss, tensors):
    return torch.autograd.grad(loss, [x for x in tensors if x is not None])


def assert_close(a, b, tol=1e-12):
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- exact identities


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_class_sampled_once_with_uniform_q_is_cross_entropy(reduction, bias):
    """Loss and every gradient equal F.cross_entropy's; keeping the hits counts the target twice, which adds exactly
    log(1 + p_t) per row."""
    h, w, b, t = layer(7, 5, 11, bias=bias)
    everything = torch.randperm(11, generator=torch.Generator().manual_seed(1))
    uniform = torch.full((11,), -math.log(11), dtype=torch.float64)
    ours = SS.sampled_softmax_loss(h, w, t, everything, uniform, linear_bias=b, remove_accidental_hits=True,
                                   reduction=reduction)
    theirs = F.cross_entropy(F.linear(h, w, b), t, reduction=reduction)
    assert_close(ours, theirs)
    for g_ours, g_theirs in zip(grads(ours.sum(), (h, w, b)), grads(theirs.sum(), (h, w, b))):
        assert_close(g_ours, g_theirs)
    kept = SS.sampled_softmax_loss(h, w, t, everything, uniform, linear_bias=b, reduction="none")
    p_t = torch.softmax(F.linear(h, w, b), dim=1).gather(1, t[:, None])[:, 0]
    assert_close(kept, F.cross_entropy(F.linear(h, w, b), t, reduction="none") + torch.log1p(p_t))


def test_every_class_sampled_once_is_cross_entropy_of_the_corrected_logits():
    """For any Q: with every class once and hits removed, the loss is cross_entropy(z − log Q); without the
    correction it is cross_entropy(z) whatever Q is; adding a constant to log Q changes nothing."""
    h, w, b, t = layer(6, 4, 9)
    log_q = torch.log_softmax(torch.randn(9, generator=torch.Generator().manual_seed(2), dtype=torch.float64), 0)
    everything = torch.arange(9)
    z = F.linear(h, w, b)
    corrected = SS.sampled_softmax_loss(h, w, t, everything, log_q, linear_bias=b, remove_accidental_hits=True)
    assert_close(corrected, F.cross_entropy(z - log_q, t))
    assert not torch.allclose(corrected, F.cross_entropy(z, t))  # the correction did something
    plain = SS.sampled_softmax_loss(h, w, t, everything, log_q, linear_bias=b, subtract_log_q=False,
                                    remove_accidental_hits=True)
    assert_close(plain, F.cross_entropy(z, t))
    ids = torch.tensor([3, 3, 0, 8])
    assert_close(SS.sampled_softmax_loss(h, w, t, ids, log_q + 5.0, linear_bias=b),
                 SS.sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b))


@pytest.mark.parametrize("n_samples", [1, 2, 3])
def test_with_q_the_true_softmax_the_loss_is_constant_and_the_expected_gradient_is_exact(n_samples):
    """Q = softmax(z): every corrected logit z_j − log Q(j) is log Z, so ℓ = log(S + 1) for every draw (and
    log(1 + #samples that are not the target) with hits removed). Summed over all V^S draws weighted by their
    probability, the gradient is exactly S/(S + 1) · (softmax(z) − onehot(t)): unbiased up to that known factor.
    The layer is W = I, so the hidden state is the logit vector and its gradient the logits' gradient."""
    v = 4
    z = torch.tensor([[1.5, -0.5, 0.25, 2.0]], dtype=torch.float64, requires_grad=True)
    eye, t = torch.eye(v, dtype=torch.float64), torch.tensor([1])
    log_q = torch.log_softmax(z.detach()[0], 0)
    expected = torch.zeros_like(z)
    for draw in itertools.product(range(v), repeat=n_samples):
        ids = torch.tensor(draw)
        loss = SS.sampled_softmax_loss(z, eye, t, ids, log_q, reduction="sum")
        assert_close(loss, torch.tensor(math.log(n_samples + 1), dtype=torch.float64))
        removed = SS.sampled_softmax_loss(z, eye, t, ids, log_q, remove_accidental_hits=True, reduction="sum")
        assert_close(removed, torch.tensor(math.log(1 + sum(k != 1 for k in draw)), dtype=torch.float64))
        (g,) = torch.autograd.grad(loss, z)
        expected += log_q[ids].sum().exp() * g
    full = torch.softmax(z.detach(), 1) - F.one_hot(t, v)
    assert_close(expected, n_samples / (n_samples + 1) * full)


# ----------------------------------------------------------------------------- against a reference written out


def reference_sampled_softmax(h, w, b, t, ids, log_q, subtract_log_q, remove_hits):
    """Row by row, class by class: −a_t + log(exp(a_t) + Σ_k exp(a_{s_k})), a_j = h·w_j + b_j (− log Q(j))."""
    losses = []
    for n in range(h.shape[0]):
        def a(j, n=n):
            return h[n] @ w[j] + (b[j] if b is not None else 0) - (log_q[j] if subtract_log_q else 0)
        terms = [a(t[n])] + [a(k) for k in ids if not (remove_hits and k == t[n])]
        losses.append(torch.logsumexp(torch.stack(terms), 0) - a(t[n]))
    return torch.stack(losses)


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 8), st.integers(1, 6), st.booleans(), st.booleans(),
       st.booleans(), st.integers(0, 2**16))
def test_sampled_softmax_matches_the_written_out_reference(n, d, v, s, subtract_log_q, remove_hits, bias, seed):
    """Any shapes, repeated ids, hits or none, with or without bias and correction: values and gradients."""
    h, w, b, t = layer(n, d, v, seed=seed, bias=bias)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, v, (s,), generator=g)
    log_q = torch.log_softmax(torch.randn(v, generator=g, dtype=torch.float64), 0)
    ours = SS.sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b, subtract_log_q=subtract_log_q,
                                   remove_accidental_hits=remove_hits, reduction="none")
    theirs = reference_sampled_softmax(h, w, b, t.tolist(), ids.tolist(), log_q, subtract_log_q, remove_hits)
    assert ours.shape == (n,)
    assert_close(ours, theirs)
    for g_ours, g_theirs in zip(grads(ours.sum(), (h, w, b)), grads(theirs.sum(), (h, w, b))):
        assert_close(g_ours, g_theirs)


def test_ignore_index_reductions_dtype_and_where_the_gradient_goes():
    h, w, b, t = layer(5, 3, 20)
    t = t.clone()
    t[1] = -100
    ids, log_q = torch.tensor([0, 4, 4, 7]), SS.log_uniform_log_probs(20)
    per_row = SS.sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b, reduction="none")
    assert per_row[1] == 0
    assert_close(SS.sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b), per_row.sum() / 4)
    assert_close(SS.sampled_softmax_loss(h, w, t, ids, log_q, linear_bias=b, reduction="sum"), per_row.sum())
    g_h, g_w = grads(per_row.sum(), (h, w))
    assert torch.all(g_h[1] == 0)
    touched = set(ids.tolist()) | set(t[t >= 0].tolist())
    assert {i for i in range(20) if g_w[i].abs().sum() > 0} <= touched  # only the sampled and target rows of W
    assert torch.isnan(SS.sampled_softmax_loss(h[:1], w, torch.tensor([-100]), ids, log_q))
    h32, w32 = h.detach().float(), w.detach().float()
    assert SS.sampled_softmax_loss(h32, w32, t, ids, log_q).dtype == torch.float32


# ----------------------------------------------------------------------------- negative sampling


@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_negative_sampling_is_binary_cross_entropy_with_one_positive_and_k_negatives(reduction, per_row):
    """−log σ(z_t) − Σ_k log σ(−z_{n_k}) is BCE-with-logits summed over [target (label 1), negatives (label 0)]."""
    n, k = 6, 5
    h, w, b, t = layer(n, 4, 30, seed=3)
    g = torch.Generator().manual_seed(4)
    negatives = torch.randint(0, 30, (n, k) if per_row else (k,), generator=g)
    ours = SS.negative_sampling_loss(h, w, t, negatives, linear_bias=b, reduction=reduction)
    z = F.linear(h, w, b)
    neg = negatives if per_row else negatives.expand(n, k)
    scores = torch.cat([z.gather(1, t[:, None]), z.gather(1, neg)], dim=1)
    labels = torch.cat([torch.ones(n, 1), torch.zeros(n, k)], dim=1).double()
    rows = F.binary_cross_entropy_with_logits(scores, labels, reduction="none").sum(1)
    theirs = {"none": rows, "sum": rows.sum(), "mean": rows.mean()}[reduction]
    assert_close(ours, theirs)
    for g_ours, g_theirs in zip(grads(ours.sum(), (h, w, b)), grads(theirs.sum(), (h, w, b))):
        assert_close(g_ours, g_theirs)


def test_negative_sampling_known_value_and_ignore_index():
    """z_t = 0 and one negative with z = 0: 2 log 2; an ignored row adds nothing."""
    h, w = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64)
    loss = SS.negative_sampling_loss(h, w, torch.tensor([0, -100]), torch.tensor([2]), reduction="none")
    assert_close(loss, torch.tensor([2 * math.log(2), 0.0], dtype=torch.float64))


# ----------------------------------------------------------------------------- the log-uniform proposal


def test_log_uniform_probabilities_are_tensorflows_and_sum_to_1():
    v = 1000
    k = np.arange(v)
    tf_formula = (np.log(k + 2) - np.log(k + 1)) / np.log(v + 1)  # log_uniform_candidate_sampler's documentation
    log_q = SS.log_uniform_log_probs(v)
    assert log_q.shape == (v,) and log_q.dtype == torch.float64
    np.testing.assert_allclose(log_q.exp().numpy(), tf_formula, rtol=1e-12)
    assert abs(log_q.exp().sum().item() - 1) < 1e-12
    assert torch.all(log_q[1:] < log_q[:-1])  # class 0 is the most frequent


def test_log_uniform_draws_follow_q_and_are_reproducible():
    """200,000 draws over V = 50: every class's count within 5 binomial standard errors of S·Q(k)."""
    v, s = 50, 200_000
    ids, log_q_ids = SS.log_uniform_candidates(v, s, np.random.default_rng(0))
    assert ids.shape == (s,) and ids.dtype == torch.int64 and 0 <= ids.min() and ids.max() < v
    q = SS.log_uniform_log_probs(v).exp().numpy()
    assert_close(log_q_ids, SS.log_uniform_log_probs(v)[ids])
    counts = np.bincount(ids.numpy(), minlength=v)
    assert np.all(np.abs(counts - s * q) < 5 * np.sqrt(s * q * (1 - q)))
    again, _ = SS.log_uniform_candidates(v, s, np.random.default_rng(0))
    assert torch.equal(ids, again)
    assert torch.all(SS.log_uniform_candidates(1, 10, np.random.default_rng(1))[0] == 0)


# ----------------------------------------------------------------------------- how biased is it?


@pytest.fixture(scope="module")
def bias_rows():
    """The measurement on a small toy problem (N = 128, D = 16, V = 2000), 20 draws per S: about 0.3 s of CPU."""
    rows = SS.sampled_softmax_bias(n=128, d=16, v=2000, n_samples_list=(10, 1000), repeats=20, seed=0)
    return {(r["n_samples"], r["log_q_correction"]): r for r in rows}


def clearly_below(rows, a, b, key):
    """rows[a][key] < rows[b][key] by more than 3 standard errors of the difference."""
    diff = rows[b][key] - rows[a][key]
    se = math.hypot(rows[a][key + "_se"], rows[b][key + "_se"])
    return diff > 3 * se, f"{key}: {rows[a][key]:.4f} vs {rows[b][key]:.4f} (difference {diff:.4f}, 3 SE = {3 * se:.4f})"


def test_corrected_bias_shrinks_as_s_grows(bias_rows):
    """With the log-Q correction, the loss gap (offset removed) and the gradient's error at S = 1000 are below
    those at S = 10 by more than 3 standard errors, and the loss gap at S = 1000 is within 4 SE of 0.01."""
    for key in ("loss_gap_offset", "grad_input_error", "grad_weight_error"):
        ok, why = clearly_below(bias_rows, (1000, True), (10, True), key)
        assert ok, why
    big = bias_rows[(1000, True)]
    assert abs(big["loss_gap_offset"]) < 0.01 + 4 * big["loss_gap_offset_se"], big


def test_without_the_correction_the_bias_stays(bias_rows):
    """At S = 1000 the uncorrected loss gap and gradient error exceed the corrected ones by more than 3 SE, and the
    uncorrected gradient averaged over the 20 draws is still far off (its bias), unlike the corrected one's."""
    for key in ("loss_gap_offset", "grad_input_error"):
        ok, why = clearly_below(bias_rows, (1000, True), (1000, False), key)
        assert ok, why
    assert bias_rows[(1000, False)]["grad_input_error_of_mean"] > 3 * bias_rows[(1000, True)]["grad_input_error_of_mean"]
    assert set(bias_rows[(10, True)]) >= {"loss_gap", "loss_gap_se", "grad_weight_error_se", "n_samples"}


def test_removing_hits_from_draws_with_replacement_leaves_a_bias(bias_rows):
    """A frequent target is drawn about S·Q(t) times; dropping every copy removes ~p_t from the normaliser, so at
    S = 1000 the gradient error and the loss gap are worse than with the hits kept, by more than 3 SE (the reason
    for the default remove_accidental_hits=False)."""
    (removed,) = SS.sampled_softmax_bias(n=128, d=16, v=2000, n_samples_list=(1000,), repeats=20, seed=0,
                                         remove_accidental_hits=True)[:1]
    rows = {"kept": bias_rows[(1000, True)], "removed": removed}
    ok, why = clearly_below(rows, "kept", "removed", "grad_input_error")
    assert ok, why
    gap = rows["kept"]["loss_gap_offset"] - removed["loss_gap_offset"]
    assert abs(gap) > 3 * math.hypot(rows["kept"]["loss_gap_offset_se"], removed["loss_gap_offset_se"]), (rows, gap)


# ----------------------------------------------------------------------------- bad input

H, W, T = torch.zeros(2, 3), torch.zeros(5, 3), torch.tensor([0, 4])
IDS, LOGQ = torch.tensor([1, 2]), torch.full((5,), -math.log(5))
BAD_INPUTS = [
    ("numpy hidden states", lambda: SS.sampled_softmax_loss(H.numpy(), W, T, IDS, LOGQ), TypeError, "torch tensors"),
    ("hidden size mismatch", lambda: SS.sampled_softmax_loss(torch.zeros(2, 4), W, T, IDS, LOGQ), ValueError, "hidden size mismatch"),
    ("bias of the wrong length", lambda: SS.sampled_softmax_loss(H, W, T, IDS, LOGQ, linear_bias=torch.zeros(4)), ValueError, r"linear_bias must have shape \(5,\)"),
    ("float targets", lambda: SS.sampled_softmax_loss(H, W, T.float(), IDS, LOGQ), TypeError, "int64"),
    ("target out of range", lambda: SS.sampled_softmax_loss(H, W, torch.tensor([0, 5]), IDS, LOGQ), ValueError, "out of range for 5 classes"),
    ("one target per row", lambda: SS.sampled_softmax_loss(H, W, torch.tensor([0]), IDS, LOGQ), ValueError, r"target must have shape \(2,\)"),
    ("unknown reduction", lambda: SS.sampled_softmax_loss(H, W, T, IDS, LOGQ, reduction="avg"), ValueError, "unknown reduction"),
    ("sampled ids as a list", lambda: SS.sampled_softmax_loss(H, W, T, [1, 2], LOGQ), TypeError, "sampled must be a torch tensor"),
    ("sampled ids int32", lambda: SS.sampled_softmax_loss(H, W, T, IDS.int(), LOGQ), TypeError, "dtype int64"),
    ("sampled ids 2-d", lambda: SS.sampled_softmax_loss(H, W, T, IDS[None], LOGQ), ValueError, "sampled must have 1 dimension"),
    ("sampled id out of range", lambda: SS.sampled_softmax_loss(H, W, T, torch.tensor([5]), LOGQ), ValueError, "sampled holds class 5"),
    ("log_q of the wrong length", lambda: SS.sampled_softmax_loss(H, W, T, IDS, LOGQ[:4]), ValueError, r"log_q must have shape \(5,\)"),
    ("log_q with -inf", lambda: SS.sampled_softmax_loss(H, W, T, IDS, torch.log(torch.tensor([0.0, .25, .25, .25, .25]))), ValueError, "log_q must be finite"),
    ("log_q of ints", lambda: SS.sampled_softmax_loss(H, W, T, IDS, torch.zeros(5, dtype=torch.int64)), TypeError, "log_q must be a floating-point"),
    ("negatives of another batch", lambda: SS.negative_sampling_loss(H, W, T, torch.zeros(3, 2, dtype=torch.int64)), ValueError, "one row per row of input"),
    ("negatives 3-d", lambda: SS.negative_sampling_loss(H, W, T, torch.zeros(2, 1, 1, dtype=torch.int64)), ValueError, "1 or 2 dimension"),
    ("vocab_size 0", lambda: SS.log_uniform_log_probs(0), ValueError, "vocab_size must be an int >= 1"),
    ("n_samples a float", lambda: SS.log_uniform_candidates(10, 2.0, np.random.default_rng(0)), TypeError, "n_samples must be an int"),
    ("rng a seed", lambda: SS.log_uniform_candidates(10, 2, 0), TypeError, "rng must be a numpy.random.Generator"),
    ("no sample sizes", lambda: SS.sampled_softmax_bias(n_samples_list=(10, 0)), ValueError, "each entry of n_samples_list"),
    ("toy problem from a seed", lambda: SS.toy_problem(4, 2, 10, 0), TypeError, "rng must be a numpy.random.Generator"),
    ("toy problem of no classes", lambda: SS.toy_problem(4, 2, 0, np.random.default_rng(0)), ValueError, "v must be an int >= 1"),
]


@pytest.mark.parametrize("call, exc, match", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
