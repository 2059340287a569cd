"""softmax_ce.modern (z-loss, soft-capping, distillation, InfoNCE/CLIP, focal loss) against torch, on random inputs.

Hypothesis draws shapes, dims, dtypes (float32/float64), logits up to ±1e4 and every option; the gradients are
checked against torch autograd; bad input must raise the right error type with a message that names the problem.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import functional as npF
from softmax_ce import modern
from strategies import DTYPES, REDUCTIONS, SCALES, assert_close

TEMPERATURES = st.sampled_from([0.5, 1.0, 2.0, 4.0, 10.0])
KL_WARNING = "ignore:reduction. .mean. divides the total loss:UserWarning"  # torch nudges 'mean' to 'batchmean'

# Each array strategy is built once, here (float32 values in float64 arrays, cast after drawing): building one per
# draw, for the shape just drawn, cost hypothesis more time than the tests themselves.
UNIT = st.floats(-1, 1, width=32)
ANY_SHAPE = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5), elements=UNIT)
PAIRS = hnp.arrays(np.float64, st.tuples(st.just(2), st.integers(1, 6), st.integers(1, 6)), elements=UNIT)


def tensor(x, grad=False):
    return torch.from_numpy(np.array(x)).requires_grad_(grad)


def reduce_torch(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


@st.composite
def logits(draw, arrays=ANY_SHAPE):
    """(x, scale): a float32/float64 array of 1 to 4 dimensions with entries in [-scale, scale], scale up to 1e4."""
    dtype, scale = draw(DTYPES), draw(SCALES)
    return (draw(arrays) * scale).astype(dtype), scale


# ----------------------------------------------------------------------------- z-loss


@given(logits(), st.data(), REDUCTIONS)
def test_z_loss_matches_torch(xs, data, reduction):
    x, scale = xs
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    theirs = reduce_torch(torch.logsumexp(tensor(x), dim=dim) ** 2, reduction)
    assert_close(modern.z_loss(x, dim=dim, reduction=reduction), theirs, x.dtype, scale)


@given(logits(), st.data(), REDUCTIONS)
def test_z_loss_grad_matches_autograd(xs, data, reduction):
    """Autograd in float64: torch's float32 backward, exp(z − logsumexp(z)), inherits the rounding of log Z (1e4 has an
    ulp of 1e-3), so its softmax is off by up to 5e-4 at logits of 1e4; ours (softmax with the max subtracted) is not."""
    x, scale = xs
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    xt = tensor(x.astype(np.float64), grad=True)
    reduce_torch(torch.logsumexp(xt, dim=dim) ** 2, reduction).sum().backward()
    assert_close(modern.z_loss_grad(x, dim=dim, reduction=reduction), xt.grad.to(tensor(x).dtype), x.dtype, scale)


def test_z_loss_grad_defaults_to_the_per_row_gradient():
    """2 log Z · softmax(z) per row: the gradient of the 'sum' (z_loss itself defaults to 'mean')."""
    x = np.array([[2.0, 1.0, 0.1], [0.0, -3.0, 5.0]])
    want = 2 * npF.logsumexp(x, dim=1, keepdim=True) * npF.softmax(x, dim=1)
    np.testing.assert_allclose(modern.z_loss_grad(x), want, rtol=1e-15)
    np.testing.assert_allclose(modern.z_loss_grad(x, reduction="mean"), want / 2, rtol=1e-15)


def test_z_loss_is_zero_exactly_when_z_is_one():
    """log Z = 0 (the probabilities are the exp of the logits): no penalty; a shift of the logits by k costs k²."""
    p = np.array([0.7, 0.2, 0.1])
    assert modern.z_loss(np.log(p)) == pytest.approx(0.0, abs=1e-15)
    assert modern.z_loss(np.log(p) + 3.0) == pytest.approx(9.0, rel=1e-12)


# ----------------------------------------------------------------------------- soft-capping

CAPS = st.sampled_from([0.5, 1.0, 30.0, 50.0, 1e3])


@given(logits(), CAPS)
def test_soft_cap_matches_torch(xs, cap):
    x, scale = xs
    out = modern.soft_cap(x, cap)
    assert_close(out, cap * torch.tanh(tensor(x) / cap), x.dtype, cap)
    assert np.all(np.abs(out) <= cap)


@given(logits(), CAPS)
def test_soft_cap_grad_matches_autograd(xs, cap):
    x, _ = xs
    xt = tensor(x, grad=True)
    (cap * torch.tanh(xt / cap)).sum().backward()
    assert_close(modern.soft_cap_grad(x, cap), xt.grad, x.dtype)


def test_soft_cap_keeps_small_logits_and_caps_large_ones():
    x = np.array([-1e4, -30.0, -0.01, 0.0, 0.01, 30.0, 1e4])
    out = modern.soft_cap(x, 30.0)
    np.testing.assert_allclose(out[[2, 3, 4]], x[[2, 3, 4]], rtol=1e-6)
    np.testing.assert_allclose(out[[0, -1]], [-30.0, 30.0], rtol=1e-15)
    np.testing.assert_allclose(out[[1, 5]], [-30 * math.tanh(1), 30 * math.tanh(1)], rtol=1e-15)
    grad = modern.soft_cap_grad(x, 30.0)
    assert grad[3] == 1.0 and np.all((grad >= 0) & (grad <= 1))
    assert grad[0] > 0  # no cancellation to 0: sech²(333) ≈ 4 e^{-667}
    np.testing.assert_allclose(grad[0], 4 * math.exp(-2e4 / 30), rtol=1e-12)


# ----------------------------------------------------------------------------- distillation


@st.composite
def distillation_problem(draw):
    """(s, t, T, scale): student and teacher logits of the same shape (N, C), N and C in 1..6, and a temperature."""
    (s, t), scale = draw(logits(PAIRS))
    return s, t, draw(TEMPERATURES), scale


def torch_distillation(s, t, temperature, reduction):
    T = temperature
    return T**2 * F.kl_div(F.log_softmax(s / T, dim=-1), F.softmax(t / T, dim=-1), reduction=reduction)


@pytest.mark.filterwarnings(KL_WARNING)
@given(distillation_problem(), REDUCTIONS | st.just("batchmean"))
def test_distillation_loss_matches_torch_kl_div(problem, reduction):
    s, t, T, scale = problem
    ours = modern.distillation_loss(s, t, temperature=T, reduction=reduction)
    assert_close(ours, torch_distillation(tensor(s), tensor(t), T, reduction), s.dtype, scale * T)


@pytest.mark.filterwarnings(KL_WARNING)
@given(distillation_problem(), REDUCTIONS | st.just("batchmean"))
def test_distillation_loss_grad_matches_autograd(problem, reduction):
    s, t, T, scale = problem
    st_ = tensor(s, grad=True)
    torch_distillation(st_, tensor(t), T, reduction).sum().backward()
    assert_close(modern.distillation_loss_grad(s, t, temperature=T, reduction=reduction), st_.grad, s.dtype, T)


def test_distillation_reductions_and_the_mean_trap():
    """'batchmean' is the KL per sample; torch's 'mean' divides by N·C, i.e. C times too small; 'none' is pointwise."""
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(4, 10)), rng.normal(size=(4, 10)) * 3
    T = 2.0
    ps, pt = npF.softmax(s / T, dim=1), npF.softmax(t / T, dim=1)
    kl_rows = (pt * (np.log(pt) - np.log(ps))).sum(axis=1)  # the definition, row by row
    loss = lambda r: modern.distillation_loss(s, t, temperature=T, reduction=r)  # noqa: E731
    np.testing.assert_allclose(loss("batchmean"), T**2 * kl_rows.mean(), rtol=1e-12)
    np.testing.assert_allclose(loss("sum"), T**2 * kl_rows.sum(), rtol=1e-12)
    np.testing.assert_allclose(loss("mean"), loss("batchmean") / 10, rtol=1e-12)
    assert loss("none").shape == (4, 10)
    np.testing.assert_allclose(loss("none").sum(axis=1), T**2 * kl_rows, rtol=1e-12)
    assert modern.distillation_loss(s, s, temperature=T) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(modern.distillation_loss_grad(s, t, temperature=T), T * (ps - pt) / 4, rtol=1e-12)


def test_distillation_stays_finite_for_extreme_logits():
    s = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    t = np.array([[-1e4, 1e4, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    ours = modern.distillation_loss(s, t, temperature=1.0)
    assert np.isfinite(ours) and ours.dtype == np.float32
    assert_close(ours, torch_distillation(tensor(s), tensor(t), 1.0, "batchmean"), np.float32, 1e4)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_distillation_with_classes_the_teacher_masks_out(reduction):
    """A teacher logit of −inf (a padded vocabulary entry) has p_t = 0 and adds nothing, as in torch: no nan."""
    s = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
    t = np.array([[2.0, -np.inf, 1.0], [-np.inf, 0.0, 3.0]])
    ours = modern.distillation_loss(s, t, temperature=2.0, reduction=reduction)
    assert np.all(np.isfinite(ours))
    assert_close(ours, torch_distillation(tensor(s), tensor(t), 2.0, reduction), np.float64)
    s_t = tensor(s, grad=True)
    torch_distillation(s_t, tensor(t), 2.0, reduction).sum().backward()
    assert_close(modern.distillation_loss_grad(s, t, temperature=2.0, reduction=reduction), s_t.grad, np.float64)


# ----------------------------------------------------------------------------- InfoNCE and CLIP


@st.composite
def embedding_pair(draw):
    """(a, b, τ, normalize, logit scale): two (N, D) embeddings whose similarities / τ reach ~1e4 and beyond."""
    dtype, size = draw(DTYPES), draw(st.sampled_from([1.0, 10.0, 30.0]))
    a, b = (draw(PAIRS) * size).astype(dtype)
    tau, normalize = draw(st.sampled_from([0.01, 0.07, 0.5, 1.0])), draw(st.booleans())
    bound = a.shape[1] * (1.0 if normalize else size * size) / tau  # |a·b| / τ never exceeds this
    return a, b, tau, normalize, bound


def torch_similarities(a, b, tau, normalize):
    a, b = tensor(a), tensor(b)
    if normalize:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    return a @ b.T / tau


@given(embedding_pair(), REDUCTIONS)
def test_info_nce_matches_torch_cross_entropy(pair, reduction):
    q, k, tau, normalize, bound = pair
    ours = modern.info_nce(q, k, temperature=tau, reduction=reduction, normalize=normalize)
    theirs = F.cross_entropy(torch_similarities(q, k, tau, normalize), torch.arange(len(q)), reduction=reduction)
    assert_close(ours, theirs, q.dtype, bound)


def info_nce_by_loop(q, k, tau):
    """The definition, one query at a time, in Python floats: −log exp(q_i·k_i/τ) / Σ_j exp(q_i·k_j/τ)."""
    losses = []
    for i in range(len(q)):
        s = [sum(float(u) * float(v) for u, v in zip(q[i], k[j])) / tau for j in range(len(k))]
        m = max(s)
        losses.append(m + math.log(sum(math.exp(sj - m) for sj in s)) - s[i])
    return np.array(losses)


@given(embedding_pair())
def test_info_nce_matches_a_loop_over_the_queries(pair):
    q, k, tau, _, bound = pair
    q, k = q.astype(np.float64), k.astype(np.float64)
    np.testing.assert_allclose(modern.info_nce(q, k, temperature=tau, reduction="none"), info_nce_by_loop(q, k, tau),
                               rtol=1e-10, atol=1e-10 * bound)


@given(embedding_pair(), REDUCTIONS)
def test_clip_loss_matches_torch_both_directions(pair, reduction):
    img, txt, tau, normalize, bound = pair
    sim, labels = torch_similarities(img, txt, tau, normalize), torch.arange(len(img))
    theirs = (F.cross_entropy(sim, labels, reduction=reduction) + F.cross_entropy(sim.T, labels, reduction=reduction)) / 2
    ours = modern.clip_loss(img, txt, temperature=tau, reduction=reduction, normalize=normalize)
    assert_close(ours, theirs, img.dtype, bound)
    swapped = modern.clip_loss(txt, img, temperature=tau, reduction=reduction, normalize=normalize)
    both = (modern.info_nce(img, txt, tau, reduction, normalize) + modern.info_nce(txt, img, tau, reduction, normalize)) / 2
    assert_close(swapped, ours, img.dtype, bound)  # symmetric in its two arguments
    assert_close(both, ours, img.dtype, bound)


def test_info_nce_normalize_and_batch_size():
    """Random unit embeddings give about log N; scaling the rows changes nothing with normalize=True."""
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(64, 32)), rng.normal(size=(64, 32))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    loss = modern.info_nce(unit(q), unit(k), temperature=1.0)
    assert abs(loss - math.log(64)) < 0.1
    np.testing.assert_allclose(modern.info_nce(5 * q, 0.1 * k, temperature=1.0, normalize=True), loss, rtol=1e-12)
    assert modern.info_nce(unit(q), unit(q), temperature=0.01) < 1e-6  # each query finds itself
    zero = np.zeros((2, 3))  # F.normalize's eps: a zero row stays zero, no nan
    np.testing.assert_allclose(modern.info_nce(zero, zero, normalize=True, reduction="none"), [math.log(2)] * 2)


# ----------------------------------------------------------------------------- focal loss


@st.composite
def focal_problem(draw):
    (x, _), scale = draw(logits(PAIRS))  # the first of the pair: logits (N, C)
    n, c = x.shape
    target = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=np.int64) % c
    ignore_index = draw(st.sampled_from([-100, 0]))
    if ignore_index == -100:
        target = np.where(draw(st.lists(st.booleans(), min_size=n, max_size=n)), -100, target)
    alpha = draw(st.none() | st.lists(st.floats(0.125, 3, width=32), min_size=6, max_size=6))
    opts = {
        "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]) | st.floats(0, 5)),
        "alpha": None if alpha is None else np.array(alpha[:c], dtype=x.dtype),
        "reduction": draw(REDUCTIONS),
        "ignore_index": ignore_index,
    }
    return x, target, opts, scale


def torch_focal(x, target, gamma, alpha, reduction, ignore_index):
    """An independent implementation: gather log p_t from F.log_softmax, weight by α_t (1 − exp(log p_t))^γ."""
    x, target = tensor(x), tensor(target)
    keep = target != ignore_index
    safe = torch.where(keep, target, 0)
    log_pt = F.log_softmax(x, dim=1).gather(1, safe[:, None]).squeeze(1)
    a = torch.ones(x.shape[1], dtype=x.dtype) if alpha is None else tensor(alpha)
    loss = torch.where(keep, -a[safe] * (1 - log_pt.exp()) ** gamma * log_pt, 0)
    return loss.sum() / keep.sum() if reduction == "mean" else reduce_torch(loss, reduction)


@given(focal_problem())
def test_focal_loss_matches_a_torch_implementation(problem):
    x, target, opts, scale = problem
    assert_close(modern.focal_loss(x, target, **opts), torch_focal(x, target, **opts), x.dtype, scale * len(x))


@given(focal_problem())
def test_focal_loss_with_gamma_zero_is_cross_entropy(problem):
    """γ = 0: exactly npF.cross_entropy without α, for every reduction; with α (class weights), for 'sum' and 'none',
    while 'mean' divides by the number of targets instead of Σ α_t."""
    x, target, opts, scale = problem
    opts["gamma"] = 0.0
    alpha = opts.pop("alpha")
    ce = dict(ignore_index=opts["ignore_index"], reduction=opts["reduction"])
    np.testing.assert_array_equal(modern.focal_loss(x, target, **opts), npF.cross_entropy(x, target, **ce))
    if alpha is not None and opts["reduction"] != "mean":
        np.testing.assert_array_equal(modern.focal_loss(x, target, alpha=alpha, **opts),
                                      npF.cross_entropy(x, target, weight=alpha, **ce))
    assert_close(modern.focal_loss(x, target, **opts), F.cross_entropy(tensor(x), tensor(target), **ce), x.dtype, scale)


@pytest.mark.parametrize("margin", [0.5, 2.0, 5.0, 10.0])
@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
def test_focal_loss_against_its_closed_form_for_two_classes(margin, gamma):
    """Logits (a, 0), target 0: 1 − p_t = σ(−a) and −log p_t = log(1 + e^{−a}), so ℓ = σ(−a)^γ log1p(e^{−a})."""
    want = (1 / (1 + math.exp(margin))) ** gamma * math.log1p(math.exp(-margin))
    ours = modern.focal_loss(np.array([[margin, 0.0]]), np.array([0]), gamma=gamma)
    np.testing.assert_allclose(ours, want, rtol=1e-9)


def test_focal_loss_matches_torchvision_sigmoid_focal_loss_for_two_classes():
    """Two classes with logits (0, x) are a sigmoid of x: focal_loss with α = (1 − a, a) is torchvision's binary one."""
    ops = pytest.importorskip("torchvision.ops", reason="torchvision is not installed (not in requirements.txt); "
                              "the two-class check against torchvision.ops.sigmoid_focal_loss is skipped")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=8) * 4, rng.integers(0, 2, size=8)
    for gamma, a in [(0.0, 0.5), (2.0, 0.25), (5.0, 0.75)]:
        ours = modern.focal_loss(np.stack([np.zeros_like(x), x], axis=1), y, gamma=gamma, alpha=np.array([1 - a, a]),
                                 reduction="none")
        theirs = ops.sigmoid_focal_loss(tensor(x), tensor(y.astype(np.float64)), alpha=a, gamma=gamma, reduction="none")
        assert_close(ours, theirs, np.float64)


# ----------------------------------------------------------------------------- every function at once


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_extreme_logits_stay_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    e = np.array([[3.0, 4.0], [1.0, 0.0]], dtype=dtype)
    outs = [modern.z_loss(x), modern.z_loss_grad(x), modern.soft_cap(x, 30.0), modern.soft_cap_grad(x, 30.0),
            modern.distillation_loss(x, x[::-1].copy(), 2.0), modern.distillation_loss_grad(x, x[::-1].copy(), 2.0),
            modern.info_nce(e, e), modern.clip_loss(e, e, normalize=True), modern.focal_loss(x, np.array([1, 2]))]
    for out in outs:
        assert np.asarray(out).dtype == dtype
        assert np.all(np.isfinite(out))


# ----------------------------------------------------------------------------- bad input

X = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]])
Y = np.array([0, 1])
E = np.array([[0.6, 0.8], [1.0, 0.0]])
BAD_INPUTS = [
    ("z_loss int logits", lambda: modern.z_loss(np.array([[2, 1, 0]])), TypeError, "input must be a floating-point"),
    ("z_loss dim out of range", lambda: modern.z_loss(X, dim=2), ValueError, "dim=2 is out of range"),
    ("z_loss tuple dim", lambda: modern.z_loss(X, dim=(0, 1)), TypeError, "dim must be an int"),
    ("z_loss unknown reduction", lambda: modern.z_loss(X, reduction="avg"), ValueError, "unknown reduction 'avg'"),
    ("z_loss_grad reduction None", lambda: modern.z_loss_grad(X, reduction=None), TypeError, "reduction must be a string"),
    ("soft_cap torch tensor", lambda: modern.soft_cap(torch.zeros(3), 30.0), TypeError, "torch tensor"),
    ("soft_cap cap = 0", lambda: modern.soft_cap(X, 0.0), ValueError, "cap must be > 0, got 0"),
    ("soft_cap cap < 0", lambda: modern.soft_cap(X, -30), ValueError, "cap must be > 0, got -30"),
    ("soft_cap cap = inf", lambda: modern.soft_cap(X, np.inf), ValueError, "cap must be a finite number"),
    ("soft_cap cap a string", lambda: modern.soft_cap(X, "30"), TypeError, "cap must be a number"),
    ("soft_cap_grad cap nan", lambda: modern.soft_cap_grad(X, np.nan), ValueError, "cap must be a finite number"),
    ("soft_cap_grad int input", lambda: modern.soft_cap_grad(np.arange(3), 1.0), TypeError, "floating-point"),
    ("distillation shapes differ", lambda: modern.distillation_loss(X, X[:, :2]), ValueError,
     r"teacher_logits must have shape \(2, 3\), the shape of student_logits; got shape \(2, 2\)"),
    ("distillation 1-d logits", lambda: modern.distillation_loss(X[0], X[1]), ValueError,
     r"student_logits must have shape \(N, C\)"),
    ("distillation int teacher", lambda: modern.distillation_loss(X, Y[:, None] * np.ones((1, 3), int)), TypeError,
     "teacher_logits must be a floating-point"),
    ("distillation temperature 0", lambda: modern.distillation_loss(X, X, temperature=0), ValueError, "temperature must be > 0"),
    ("distillation temperature < 0", lambda: modern.distillation_loss_grad(X, X, temperature=-2.0), ValueError,
     "temperature must be > 0, got -2"),
    ("distillation unknown reduction", lambda: modern.distillation_loss(X, X, reduction="batch_mean"), ValueError,
     r"unknown reduction 'batch_mean'; expected one of \('batchmean', 'mean', 'sum', 'none'\)"),  # lists its own 'batchmean'
    ("distillation_grad reduction None", lambda: modern.distillation_loss_grad(X, X, reduction=None), TypeError,
     "reduction must be a string, got NoneType"),
    ("info_nce keys of another shape", lambda: modern.info_nce(E, E[:1]), ValueError,
     r"keys must have shape \(2, 2\), the shape of queries"),
    ("info_nce 1-d queries", lambda: modern.info_nce(E[0], E[0]), ValueError, r"queries must have shape \(N, D\)"),
    ("info_nce temperature 0", lambda: modern.info_nce(E, E, temperature=0.0), ValueError, "temperature must be > 0"),
    ("info_nce int keys", lambda: modern.info_nce(E, np.eye(2, dtype=int)), TypeError, "keys must be a floating-point"),
    ("info_nce normalize not a bool", lambda: modern.info_nce(E, E, normalize="yes"), TypeError,
     "normalize must be True or False"),
    ("info_nce unknown reduction", lambda: modern.info_nce(E, E, reduction="avg"), ValueError, "unknown reduction"),
    ("clip text_emb of another shape", lambda: modern.clip_loss(E, E.T[:, :1]), ValueError, "text_emb must have shape"),
    ("clip temperature < 0", lambda: modern.clip_loss(E, E, temperature=-0.07), ValueError, "temperature must be > 0"),
    ("focal gamma < 0", lambda: modern.focal_loss(X, Y, gamma=-1.0), ValueError, "gamma must be >= 0, got -1"),
    ("focal gamma nan", lambda: modern.focal_loss(X, Y, gamma=np.nan), ValueError, "gamma must be a finite number"),
    ("focal alpha of the wrong length", lambda: modern.focal_loss(X, Y, alpha=np.ones(2)), ValueError,
     r"alpha must have shape \(3,\), one weight per class; got shape \(2,\)"),
    ("focal int alpha", lambda: modern.focal_loss(X, Y, alpha=np.ones(3, dtype=int)), TypeError,
     "alpha must be a floating-point"),
    ("focal float targets", lambda: modern.focal_loss(X, Y.astype(float)), TypeError, "must be integers"),
    ("focal class index too large", lambda: modern.focal_loss(X, np.array([0, 3])), ValueError, "out of range for 3 classes"),
    ("focal batch sizes differ", lambda: modern.focal_loss(X, np.array([0, 1, 2])), ValueError, "batch sizes differ"),
    ("focal 1-d logits", lambda: modern.focal_loss(X[0], Y[:1]), ValueError, r"input must have shape \(N, C\)"),
    ("focal unknown reduction", lambda: modern.focal_loss(X, Y, reduction="batchmean"), ValueError, "unknown reduction"),
]


@pytest.mark.parametrize("call, exc, match", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
