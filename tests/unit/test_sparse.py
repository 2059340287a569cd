"""Sparsemax, entmax and the sparsemax loss (softmax_ce.sparse): sorting against bisection, optimality, torch autograd.

torch has no sparsemax, so the references are independent implementations: the closed-form (sorting) thresholds
against bisection on τ, the first-order optimality conditions of the problems they solve, and, for the loss, a torch
implementation written here (½‖onehot(t) − z‖² − ½‖sparsemax(z) − z‖², through autograd) and finite differences.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import functional as npF
from softmax_ce import sparse as SP
from strategies import REDUCTIONS, logits

# ----------------------------------------------------------------------------- helpers


@st.composite
def logits64(draw, min_dims=1, max_dims=4, max_side=6):
    """Float64 logits of random shape (scale 1, 30 or 1e4), a random dim, and the scale."""
    x, scale = draw(logits(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    return x.astype(np.float64), dim, scale


def kkt_gap(z, p, alpha):
    """How far p is from solving max_{p ∈ Δ} pᵀz + H^T_α(p), along the last axis (0 at the solution).

    Stationarity: z_j − p_j^{α−1}/(α − 1) is the same constant c on the support, and z_j ≤ c off it (α = 2:
    z_j − p_j = τ on the support, z_j ≤ τ elsewhere: the Euclidean projection's conditions).
    """
    score = z - p ** (alpha - 1) / (alpha - 1)
    on = p > 0
    c = np.where(on, score, 0).sum(-1, keepdims=True) / on.sum(-1, keepdims=True)
    spread = np.abs(np.where(on, score - c, 0)).max(-1)
    above = np.where(on, -np.inf, z - c).max(-1)  # > 0: a zero entry should have been in the support
    return np.maximum(spread, np.maximum(above, 0))


def torch_sparsemax(z):
    """Sparsemax in torch along the last dimension, differentiable by autograd (sort, cumulative sum, gather)."""
    z = z - z.max(-1, keepdim=True).values.detach()
    srt = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cssv = srt.cumsum(-1)
    support = (1 + k * srt > cssv).sum(-1, keepdim=True)
    tau = (cssv.gather(-1, support - 1) - 1) / support.to(z.dtype)
    # where, not clamp: at a tie z_j = τ (a kink) clamp's gradient would count j in the support that gave τ without it
    return torch.where(z > tau, z - tau, torch.zeros_like(z))


def torch_sparsemax_loss(z, t, reduction):
    """½‖onehot(t) − z‖² − ½‖sparsemax(z) − z‖² per row of z (N, C): the loss as a gap between two distances."""
    z = z - z.max(-1, keepdim=True).values.detach()  # the loss is shift-invariant; this keeps z² small
    onehot = torch.nn.functional.one_hot(t, z.shape[-1]).to(z.dtype)
    loss = 0.5 * ((onehot - z) ** 2).sum(-1) - 0.5 * ((torch_sparsemax(z) - z) ** 2).sum(-1)
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


# ----------------------------------------------------------------------------- sparsemax


@given(logits64())
def test_sparsemax_sorting_bisection_and_alpha_2_entmax_agree_on_the_projection(xs):
    """Three computations of the same τ: the closed form after sorting, 60 bisection steps, and entmax_bisect at
    α = 2; p − z = −τ on the support and z ≤ τ off it (the Euclidean projection's optimality conditions); every
    logit at least 1 below the max gets exactly 0 (τ ≥ max − 1)."""
    x, dim, scale = xs
    p = SP.sparsemax(x, dim=dim)
    assert p.shape == x.shape and p.dtype == x.dtype
    np.testing.assert_allclose(p, SP.sparsemax_bisect(x, dim=dim), rtol=0, atol=1e-12)
    np.testing.assert_allclose(SP.entmax_bisect(x, alpha=2.0, dim=dim), p, rtol=0, atol=1e-12)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=0, atol=1e-12)
    z, q = np.moveaxis(x, dim, -1), np.moveaxis(p, dim, -1)
    assert np.all(kkt_gap(z, q, alpha=2.0) <= 1e-12 * max(1.0, scale))
    assert np.all(q[z <= z.max(-1, keepdims=True) - 1] == 0.0)


def random_logits(rng, count=60):
    """(x, dim) pairs of random float64 logits: up to 3-d, sides up to 6, scales 1, 30 and 1e4."""
    for i in range(count):
        shape = tuple(int(s) for s in rng.integers(1, 7, size=rng.integers(1, 4)))
        x = rng.uniform(-1, 1, size=shape) * (1.0, 30.0, 1e4)[i % 3]
        yield x, int(rng.integers(-x.ndim, x.ndim))


def test_sparsemax_and_entmax15_ignore_a_shift_and_follow_a_permutation():
    rng = np.random.default_rng(0)
    for x, dim in random_logits(rng):
        shift = rng.uniform(-1e3, 1e3)
        perm = rng.permutation(x.shape[dim])
        for fn in (SP.sparsemax, SP.entmax15):
            p = fn(x, dim=dim)
            np.testing.assert_allclose(fn(x + shift, dim=dim), p, rtol=0, atol=1e-9)
            np.testing.assert_allclose(fn(np.take(x, perm, axis=dim), dim=dim), np.take(p, perm, axis=dim), rtol=0, atol=1e-14)


def test_sparsemax_known_values():
    """Equal logits: uniform; a lead of 1 or more: one-hot; [1, 0.5, 0]: τ = 0.25, p = [0.75, 0.25, 0]."""
    np.testing.assert_array_equal(SP.sparsemax(np.zeros(4)), np.full(4, 0.25))
    np.testing.assert_array_equal(SP.sparsemax(np.array([2.0, 1.0, -5.0])), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(SP.sparsemax(np.array([1.0, 0.5, 0.0])), [0.75, 0.25, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(SP.entmax15(np.array([1.0, 0.5, 0.0])), SP.entmax_bisect(np.array([1.0, 0.5, 0.0])), atol=1e-14)


# ----------------------------------------------------------------------------- entmax


@given(logits64())
def test_entmax15_sorting_and_bisection_agree_and_are_optimal(xs):
    """Peters et al.'s Alg. 2 against bisection, and both satisfy the optimality conditions of 1.5-entmax."""
    x, dim, scale = xs
    p = SP.entmax15(x, dim=dim)
    assert p.shape == x.shape and p.dtype == x.dtype
    np.testing.assert_allclose(p, SP.entmax_bisect(x, alpha=1.5, dim=dim), rtol=0, atol=1e-10)
    np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=0, atol=1e-12)
    z, q = np.moveaxis(x, dim, -1), np.moveaxis(p, dim, -1)
    assert np.all(kkt_gap(z, q, alpha=1.5) <= 1e-7 * max(1.0, scale))  # √p amplifies rounding near p = 0
    assert np.all(q[z <= z.max(-1, keepdims=True) - 2] == 0.0)  # τ ≥ max/2 − 1: two below the max is exactly 0


@given(logits64(max_dims=3), st.sampled_from([1.1, 1.25, 1.75, 3.0]))
def test_entmax_bisect_solves_its_problem_for_any_alpha(xs, alpha):
    x, dim, scale = xs
    p = SP.entmax_bisect(x, alpha=alpha, dim=dim)
    np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=0, atol=1e-12)
    assert np.all(kkt_gap(np.moveaxis(x, dim, -1), np.moveaxis(p, dim, -1), alpha) <= 1e-6 * max(1.0, scale))


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-4])
def test_entmax_approaches_softmax_as_alpha_tends_to_1(eps):
    """α = 1 + ε: log p_j = log softmax_j + O(ε). The bound: with v_j = z_j − c (|v| ≤ R + log d for logits of
    spread R over d classes), (1/ε) log(1 + ε v) = v − ε v²/2 − …, so |log p − log softmax| ≤ B = ε L² / (2(1 − ε L))
    with L = R + log d. Measured, the worst case over 100 inputs reaches about 3/4 of B (so B is not vacuous), and
    for logits in [−3, 3] at ε = 1e-3 the largest |p − softmax| is about 1e-3."""
    rng = np.random.default_rng(0)
    ratios, diffs = [], []
    for _ in range(100):
        d = int(rng.integers(2, 20))
        x = rng.uniform(-3, 3, size=d) * rng.choice([0.01, 0.3, 1.0])
        big_l = np.ptp(x) + np.log(d)
        bound = eps * big_l**2 / (2 * (1 - eps * big_l))
        p = SP.entmax_bisect(x, alpha=1 + eps)
        gap = np.abs(np.log(p) - npF.log_softmax(x, dim=0)).max()
        assert gap <= bound + 1e-9, f"|log p − log softmax| = {gap:.3g} > bound {bound:.3g}"
        ratios.append(gap / bound)
        diffs.append(np.abs(p - npF.softmax(x, dim=0)).max())
    assert max(ratios) > 0.5, "the bound is far from tight: recheck it"
    assert max(diffs) < 1.5 * eps  # ~1.1e-3 at ε = 1e-3: 'close to softmax' means this close


def test_entmax_zero_entries_far_from_the_max_even_near_alpha_1():
    """α = 1.001 is softmax-like, but an entry more than 1/(α − 1) = 1000 below the max is exactly 0."""
    p = SP.entmax_bisect(np.array([0.0, -1.0, -1500.0]), alpha=1.001)
    assert p[2] == 0.0 and p[1] > 0
    np.testing.assert_allclose(p[:2], npF.softmax(np.array([0.0, -1.0]), dim=0), rtol=2e-3)


# ----------------------------------------------------------------------------- edge cases and dtypes


@pytest.mark.parametrize("fn", [SP.sparsemax, SP.sparsemax_bisect, SP.entmax15, SP.entmax_bisect])
def test_masked_zero_dim_empty_and_extreme_inputs(fn):
    """−inf gets exactly 0, a row of only −inf is nan (as softmax), 0-d gives 1, empty keeps its shape, ±1e4 is exact."""
    x = np.array([[1.0, -np.inf, 2.0, 1.5], [-np.inf] * 4, [1e4, -1e4, 0.0, 1e4 - 0.5]])
    p = fn(x, dim=1)
    assert p[0, 1] == 0.0 and np.isnan(p[1]).all()
    np.testing.assert_allclose(p[[0, 2]].sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(p[2], fn(np.array([0.5, -2e4 + 0.5, -1e4 + 0.5, 0.0]), dim=0), atol=1e-12)
    assert fn(np.array(3.0), dim=0) == 1.0 and fn(np.array(3.0), dim=-1).shape == ()
    assert fn(np.zeros((2, 0)), dim=1).shape == (2, 0)
    assert fn(np.zeros((0, 3)), dim=1).shape == (0, 3)


def test_float32_stays_float32_and_agrees_with_float64():
    rng = np.random.default_rng(1)
    for x, dim in random_logits(rng):
        x = x.astype(np.float32)
        for fn in (SP.sparsemax, SP.sparsemax_bisect, SP.entmax15, SP.entmax_bisect):
            p = fn(x, dim=dim)
            assert p.dtype == np.float32
            np.testing.assert_allclose(p, fn(x.astype(np.float64), dim=dim), rtol=0, atol=2e-5)


# ----------------------------------------------------------------------------- the sparsemax loss


@st.composite
def loss_problem(draw):
    x, scale = draw(logits(min_dims=2, max_dims=2, max_side=6))
    n, c = x.shape
    t = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return x.astype(np.float64), t, draw(REDUCTIONS), scale


@given(loss_problem())
def test_sparsemax_loss_and_gradient_match_torch_autograd(problem):
    """The value against ½‖onehot(t) − z‖² − ½‖sparsemax(z) − z‖² in torch; the gradient sparsemax(z) − onehot(t)
    against autograd through that torch expression (the sort, the support, the threshold)."""
    x, t, reduction, scale = problem
    z = torch.from_numpy(x).requires_grad_()
    theirs = torch_sparsemax_loss(z, torch.from_numpy(t), reduction)
    theirs.sum().backward()
    ours = SP.sparsemax_loss(x, t, reduction=reduction)
    assert np.shape(ours) == tuple(theirs.shape) and np.asarray(ours).dtype == np.float64
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(SP.sparsemax_loss_grad(x, t, reduction=reduction), z.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(torch_sparsemax(torch.from_numpy(x)).numpy(), SP.sparsemax(x), atol=1e-12)


def test_sparsemax_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(6, 5)) * 1.5, rng.integers(0, 5, size=6)
    h = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        numeric[idx] = (SP.sparsemax_loss(x + e, t, reduction="sum") - SP.sparsemax_loss(x - e, t, reduction="sum")) / (2 * h)
    np.testing.assert_allclose(SP.sparsemax_loss_grad(x, t, reduction="sum"), numeric, rtol=0, atol=1e-7)
    assert np.abs(numeric).max() > 0.1  # not a trivially zero gradient


@given(loss_problem())
def test_sparsemax_loss_is_zero_exactly_when_the_target_leads_by_1(problem):
    """L ≥ 0, and L = 0 ⇔ sparsemax(z) = onehot(t) ⇔ z_t ≥ z_j + 1 for every j ≠ t (Martins & Astudillo, Prop. 3)."""
    x, t, _, scale = problem
    loss = SP.sparsemax_loss(x, t, reduction="none")
    assert np.all(loss >= -1e-12 * scale)
    others = np.where(np.arange(x.shape[1]) == t[:, None], -np.inf, x).max(1)
    lead = x[np.arange(len(t)), t] - others
    assert np.all(loss[lead >= 1] == 0)
    assert np.all(loss[lead < 1 - 1e-6] > 0)


def test_sparsemax_loss_known_value_layouts_and_ignore_index():
    """[3, 2.1, 0] with t = 0: p = [0.95, 0.05, 0], L = (1 − 0.9)²/4 = 0.0025; (C,) and (N, C, d) layouts agree
    with (N, C); an ignored target adds nothing and 'mean' divides by the counted ones (nan if none)."""
    np.testing.assert_allclose(SP.sparsemax_loss(np.array([3.0, 2.1, 0.0]), np.array(0)), 0.0025, rtol=1e-12)
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 4, 3)), rng.integers(0, 4, size=(2, 3))
    flat_x, flat_t = np.moveaxis(x, 1, -1).reshape(-1, 4), t.reshape(-1)
    np.testing.assert_allclose(SP.sparsemax_loss(x, t, reduction="none").reshape(-1),
                               SP.sparsemax_loss(flat_x, flat_t, reduction="none"), rtol=1e-15)
    grad = SP.sparsemax_loss_grad(x, t, reduction="none")
    assert grad.shape == x.shape
    np.testing.assert_allclose(np.moveaxis(grad, 1, -1).reshape(-1, 4), SP.sparsemax_loss_grad(flat_x, flat_t, reduction="none"))
    t_ign = flat_t.copy()
    t_ign[:2] = -100
    np.testing.assert_allclose(SP.sparsemax_loss(flat_x, t_ign), SP.sparsemax_loss(flat_x[2:], flat_t[2:]), rtol=1e-15)
    assert np.all(SP.sparsemax_loss_grad(flat_x, t_ign)[:2] == 0)
    assert np.isnan(SP.sparsemax_loss(flat_x[:2], np.array([-100, -100])))
    assert SP.sparsemax_loss(np.float32([[1, 2, 3]]), np.array([0])).dtype == np.float32


# ----------------------------------------------------------------------------- bad input

X = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]])
Y = np.array([0, 1])
BAD_INPUTS = [
    ("int logits", lambda: SP.sparsemax(np.array([2, 1, 0])), TypeError, "floating-point"),
    ("torch tensor", lambda: SP.entmax15(torch.zeros(3)), TypeError, "torch tensor"),
    ("dim out of range", lambda: SP.sparsemax_bisect(X, dim=2), ValueError, "out of range"),
    ("float dim", lambda: SP.entmax15(X, dim=1.0), TypeError, "dim must be an int"),
    ("alpha = 1 (softmax)", lambda: SP.entmax_bisect(X, alpha=1.0), ValueError, "alpha must be > 1"),
    ("alpha not a number", lambda: SP.entmax_bisect(X, alpha="1.5"), TypeError, "alpha must be a number"),
    ("alpha infinite", lambda: SP.entmax_bisect(X, alpha=np.inf), ValueError, "alpha must be a finite number"),
    ("n_iter = 0", lambda: SP.entmax_bisect(X, n_iter=0), ValueError, "n_iter must be an int >= 1"),
    ("n_iter a float", lambda: SP.sparsemax_bisect(X, n_iter=50.0), TypeError, "n_iter must be an int"),
    ("float class indices", lambda: SP.sparsemax_loss(X, Y.astype(float)), TypeError, "must be integers"),
    ("class index too large", lambda: SP.sparsemax_loss(X, np.array([0, 3])), ValueError, "out of range for 3 classes"),
    ("batch sizes differ", lambda: SP.sparsemax_loss_grad(X, np.array([0, 1, 2])), ValueError, "batch sizes differ"),
    ("0-d input to the loss", lambda: SP.sparsemax_loss(np.array(1.0), np.array(0)), ValueError, "at least 1 dimension"),
    ("unknown reduction", lambda: SP.sparsemax_loss(X, Y, reduction="avg"), ValueError, "unknown reduction"),
]


@pytest.mark.parametrize("call, exc, match", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
