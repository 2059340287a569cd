"""Gradient filtering (Cut Cross-Entropy) in the chunked linear + cross-entropy: the exact path is untouched, the
filtered gradients equal an independent dense reference, and the problems and statistics say what they claim."""

import contextlib
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from softmax_ce import large_vocab as LV
from softmax_ce.functional import smoothing_weights

PATHS = {"gather": 2.0, "dense": -1.0}  # LV.GATHER_BELOW: gather the kept classes always, or never


@contextlib.contextmanager
def path(name):
    """Force the filtered chunks onto one of the two ways of computing them (the result is the same up to rounding)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LV, "GATHER_BELOW", PATHS[name])
        yield


def make(n, d, v, dtype=torch.float64, ignored=0, seed=0, spread=3.0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, dtype=dtype, generator=g) * spread
    w = torch.randn(v, d, dtype=dtype, generator=g) / d**0.5
    b = torch.randn(v, dtype=dtype, generator=g)
    t = torch.randint(0, v, (n,), generator=g)
    t[torch.randperm(n, generator=g)[:ignored]] = -100
    return h, w, b, t


def row_weights(n, dtype):
    """The grad_output given to reduction='none': a different weight for every row."""
    return torch.linspace(0.5, 2, n, dtype=dtype)


def ours(h, w, t, b=None, **kw):
    """Loss and gradients (input, weight, bias) of LV.linear_cross_entropy; reduction='none' backpropagates row_weights."""
    h, w = h.clone().requires_grad_(), w.clone().requires_grad_()
    b = None if b is None else b.clone().requires_grad_()
    loss = LV.linear_cross_entropy(h, w, t, linear_bias=b, **kw)
    (loss * row_weights(len(loss), loss.dtype)).sum().backward() if loss.ndim else loss.backward()
    return loss.detach(), h.grad, w.grad, None if b is None else b.grad


def reference(h, w, t, b=None, *, filter_eps=None, chunk_size=256, reduction="mean", label_smoothing=0.0,
              ignore_index=-100, margin=0.0):
    """Dense gradients, in float64, written from the definition: the full logits, p = softmax, the columns of each
    chunk zeroed whose max of p over the chunk's counted rows is below filter_eps, minus q, times each row's scale.

    Also returns whether some column's max is within a relative ``margin`` of filter_eps (a decision that rounding
    can flip), so that a test can leave such an example out, and the gradients' magnitudes (the same sums of
    absolute values), the scale of their rounding errors."""
    h, w = h.double(), w.double()
    b = None if b is None else b.double()
    n, v = h.shape[0], w.shape[0]
    keep = t != ignore_index
    p = torch.softmax(F.linear(h, w, b), dim=1)
    kept_p, close = p.clone(), False
    if filter_eps is not None:
        for start in range(0, n, chunk_size):
            rows = slice(start, start + chunk_size)
            col_max = torch.where(keep[rows, None], p[rows], 0.0).amax(0)
            kept_p[rows, col_max < filter_eps] = 0.0
            close |= bool(((col_max - filter_eps).abs() <= margin * filter_eps).any())
    keep_share, spread = smoothing_weights(label_smoothing, v)
    q = torch.full_like(p, spread)
    q[torch.arange(n), torch.where(keep, t, 0)] += keep_share
    scale = {"mean": torch.full((n,), 1.0 / max(int(keep.sum()), 1), dtype=torch.float64),
             "sum": torch.ones(n, dtype=torch.float64), "none": row_weights(n, torch.float64)}[reduction]
    dz = (kept_p - q) * torch.where(keep, scale, 0.0)[:, None]
    terms = (kept_p + q) * torch.where(keep, scale, 0.0).abs()[:, None]  # |p| + |q|: the parts are summed apart
    magnitude = max((terms @ w.abs()).max().item(), (terms.T @ h.abs()).max().item(), terms.sum(0).max().item())
    return dz @ w, dz.T @ h, dz.sum(0), close, magnitude


def assert_grads_close(got, want, magnitude, dtype, what):
    """Each gradient within rounding of the reference: |got − want| ≤ tol · the largest sum of absolute terms."""
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for name, a, e in zip(("grad_input", "grad_weight", "grad_bias"), got, want):
        if a is None:
            continue
        err = (a.double() - e).abs().max().item() / max(magnitude, 1e-300)
        assert err <= tol, (f"{what}: {name} differs from the dense reference by {err:.2e} of the gradients' magnitude "
                            f"(> {tol:g}): the filtered chunks must drop exactly the columns with max p < filter_eps")


# ----------------------------------------------------------------------------- the exact path is untouched


def exact_chunk_pass(h, w, b, t, reduction, label_smoothing, chunk_size, ignore_index=-100):
    """The unfiltered algorithm of ``linear_cross_entropy``, operation for operation as it was before filtering was
    added, so that filter_eps=None can be checked to give the same bits: (losses, grad_input, grad_weight, grad_bias)."""
    n, v = h.shape[0], w.shape[0]
    keep = t != ignore_index
    keep_share, spread = smoothing_weights(label_smoothing, v)
    scale = 1.0 / keep.sum().clamp(min=1).to(h.dtype) if reduction == "mean" else h.new_tensor(1.0)
    row_scale = scale.expand(n)
    losses, g_in = h.new_empty(n), torch.empty_like(h)
    g_w, g_b = torch.zeros_like(w), torch.zeros_like(b)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        hc, tc, k = h[rows], t[rows], keep[rows]
        logits = torch.addmm(b, hc, w.T)
        t_safe = torch.where(k, tc, 0).long()
        z_t = torch.where(k, logits.gather(1, t_safe[:, None]).squeeze(1), 0.0)
        qz = keep_share * z_t + spread * logits.sum(1) if label_smoothing else z_t
        m = logits.amax(1)
        logits.sub_(m[:, None]).exp_()
        s = logits.sum(1)
        losses[rows] = torch.where(k, m + s.log() - qz, 0.0)
        dz = logits.div_(s[:, None])
        dz.scatter_add_(1, t_safe[:, None], k.to(dz.dtype).mul_(-keep_share)[:, None])
        if label_smoothing:
            dz.sub_(spread)
        dz.mul_(torch.where(k, row_scale[rows], 0.0)[:, None])
        torch.mm(dz, w, out=g_in[rows])
        g_w.addmm_(dz.T, hc)
        g_b.add_(dz.sum(0, dtype=w.dtype))
    loss = losses.sum() if reduction == "sum" else losses.sum() / keep.sum()
    return loss, g_in, g_w, g_b


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_filter_eps_none_gives_the_same_bits_as_before(dtype, reduction, label_smoothing):
    h, w, b, t = make(23, 5, 17, dtype=dtype, ignored=4)
    got = ours(h, w, t, b, chunk_size=6, reduction=reduction, label_smoothing=label_smoothing, filter_eps=None)
    want = exact_chunk_pass(h, w, b, t, reduction, label_smoothing, 6)
    for name, a, e in zip(("loss", "grad_input", "grad_weight", "grad_bias"), got, want):
        assert torch.equal(a, e), (f"{name}: filter_eps=None must run the unfiltered code bit for bit; keep the "
                                   "filtering inside `if filter_eps is not None` in _chunk_pass")


def test_filtering_changes_the_loss_not_at_all():
    h, w, b, t = make(30, 4, 40, ignored=5)
    for reduction in ("mean", "sum", "none"):
        exact = ours(h, w, t, b, chunk_size=8, reduction=reduction, label_smoothing=0.2)[0]
        for eps in (1e-3, 0.05, 0.5):
            for name in PATHS:
                with path(name):
                    loss = ours(h, w, t, b, chunk_size=8, reduction=reduction, label_smoothing=0.2, filter_eps=eps)[0]
                assert torch.equal(loss, exact), (f"reduction={reduction}, filter_eps={eps}, {name} path: filtering "
                                                  "must change only the gradients, never the loss")


@pytest.mark.parametrize("name", PATHS)
def test_dense_path_with_nothing_skipped_is_the_exact_path(name):
    h, w, b, t = make(20, 4, 9, ignored=3)
    exact = ours(h, w, t, b, chunk_size=7, label_smoothing=0.1)
    with path(name):
        tiny = ours(h, w, t, b, chunk_size=7, label_smoothing=0.1, filter_eps=1e-300)
    for a, e in zip(tiny, exact):
        if name == "dense":
            assert torch.equal(a, e), "nothing skipped on the dense path: the same operations as without filtering"
        else:
            torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- against torch and the dense reference


@pytest.mark.parametrize("name", PATHS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_tiny_filter_eps_matches_torch_autograd(name, dtype, reduction):
    h, w, b, t = make(37, 6, 50, dtype=dtype, ignored=5)
    with path(name):
        got = ours(h, w, t, b, chunk_size=8, reduction=reduction, label_smoothing=0.1, filter_eps=1e-30)
    hh, ww, bb = (x.clone().requires_grad_() for x in (h, w, b))
    loss = F.cross_entropy(F.linear(hh, ww, bb), t, reduction=reduction, label_smoothing=0.1)
    (loss * row_weights(len(loss), dtype)).sum().backward() if loss.ndim else loss.backward()
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 2e-6}
    for what, a, e in zip(("loss", "grad_input", "grad_weight", "grad_bias"), got, (loss.detach(), hh.grad, ww.grad, bb.grad)):
        torch.testing.assert_close(a, e, **tol, msg=lambda m, what=what: f"{what} with filter_eps=1e-30 ({name} path) "
                                   f"must equal torch's autograd of cross_entropy(linear(...)): {m}")


@pytest.mark.parametrize("name", PATHS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_filter_eps_near_one_leaves_only_the_one_hot_and_smoothing_parts(name, label_smoothing, reduction):
    h, w, b, t = make(19, 5, 13, ignored=4, spread=1.0)
    with path(name):
        _, g_in, g_w, g_b = ours(h, w, t, b, chunk_size=5, reduction=reduction, label_smoothing=label_smoothing,
                                 filter_eps=1 - 1e-9)
    keep = t != -100  # the target part alone, −q_nj · scale_n, written out here
    counted = int(keep.sum())
    scale = {"mean": torch.full((19,), 1.0 / counted, dtype=torch.float64), "sum": torch.ones(19, dtype=torch.float64),
             "none": row_weights(19, torch.float64)}[reduction] * keep
    q = torch.full((19, 13), label_smoothing / 13, dtype=torch.float64)
    q[keep.nonzero().squeeze(1), t[keep]] += 1 - label_smoothing
    g = -q * scale[:, None]
    for what, a, e in (("grad_input", g_in, g @ w), ("grad_weight", g_w, g.T @ h), ("grad_bias", g_b, g.sum(0))):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-14, msg=lambda m, what=what: (
            f"{what}: with every softmax probability below filter_eps the gradient is the target part alone, "
            f"-(1 - eps) onehot - eps/V, exactly ({name} path): {m}"))


@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 30), st.integers(1, 16), st.integers(0, 2**31 - 1),
       st.data())
def test_filtered_gradients_equal_an_independent_dense_reference(n, d, v, chunk_size, seed, data):
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    label_smoothing = data.draw(st.sampled_from([0.0, 0.1, 0.35]), label="label_smoothing")
    with_bias = data.draw(st.booleans(), label="bias")
    name = data.draw(st.sampled_from(list(PATHS)), label="path")
    eps = data.draw(st.sampled_from([1e-4, 0.0123, 0.0456, 0.137, 0.31]), label="filter_eps")
    h, w, b, t = make(n, d, v, dtype=dtype, ignored=data.draw(st.integers(0, n), label="ignored"), seed=seed)
    b = b if with_bias else None
    kw = {"chunk_size": chunk_size, "reduction": reduction, "label_smoothing": label_smoothing}
    *want, close, magnitude = reference(h, w, t, b, filter_eps=eps, margin=1e-4 if dtype == torch.float32 else 1e-9, **kw)
    assume(not close)  # a column max within rounding of filter_eps: either decision is right
    with path(name):
        loss, *got = ours(h, w, t, b, filter_eps=eps, **kw)
    assert_grads_close(got, want, magnitude, dtype,
                       f"n={n} d={d} v={v} chunk={chunk_size} {reduction} eps={eps} {name} path")
    torch.testing.assert_close(loss, ours(h, w, t, b, **kw)[0], rtol=0, atol=0, equal_nan=True,
                               msg="filtering must not change the loss (every row ignored: nan either way)")


@pytest.mark.parametrize("name", PATHS)
def test_the_second_pass_filters_the_same_way(name):
    """A second backward (retain_graph) recomputes the gradients in a pass of its own; it filters alike."""
    h, w, b, t = make(21, 4, 30, ignored=3)
    w = w.clone().requires_grad_()
    with path(name):
        loss = LV.linear_cross_entropy(h, w, t, chunk_size=6, label_smoothing=0.1, filter_eps=0.05)
        first, = torch.autograd.grad(loss, w, retain_graph=True)
        second, = torch.autograd.grad(loss, w)
    want = reference(h, w.detach(), t, filter_eps=0.05, chunk_size=6, label_smoothing=0.1)[1]
    torch.testing.assert_close(first, second, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(second, want, rtol=1e-10, atol=1e-12)


def test_bfloat16_filtered_gradients_are_accumulated_in_float32():
    h, w, b, t = make(512, 16, 64, dtype=torch.float32, seed=1)
    want = reference(h, w, t, b, filter_eps=0.01, chunk_size=16, reduction="sum")
    with path("gather"):
        got = ours(h.bfloat16(), w.bfloat16(), t, b.bfloat16(), chunk_size=16, reduction="sum", filter_eps=0.01)[1:]
    for a, e in zip(got, want[:3]):
        assert a.dtype == torch.bfloat16
        assert ((a.double() - e).abs().max() / e.abs().max()).item() < 3e-2, "bf16 gradients far from float64's"


def test_a_peaked_problem_skips_most_classes_at_a_large_filter_eps():
    h, w, t = LV.output_layer_problem(512, 32, 4096, peaked=True)
    assert LV.skipped_fraction(h, w, t, filter_eps=2**-8, chunk_size=64) > 0.5
    exact = ours(h, w, t, chunk_size=64)
    filtered = ours(h, w, t, chunk_size=64, filter_eps=2**-8)
    assert torch.equal(filtered[0], exact[0])
    for a, e in zip(filtered[1:3], exact[1:3]):  # close, not equal: the dropped part is small
        assert 0 < ((a - e).abs().max() / e.abs().max()).item() < 0.5


# ----------------------------------------------------------------------------- skipped_fraction, the problems, the statistics


@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**31 - 1), st.data())
def test_skipped_fraction_matches_a_direct_count(n, chunk_size, seed, data):
    eps = data.draw(st.sampled_from([1e-4, 0.0123, 0.0456, 0.137]), label="filter_eps")
    h, w, b, t = make(n, 4, 25, dtype=torch.float32, ignored=data.draw(st.integers(0, n)), seed=seed)
    b = b if data.draw(st.booleans()) else None
    p = torch.softmax(F.linear(h.double(), w.double(), None if b is None else b.double()), dim=1)
    keep = t != -100
    skipped, close = 0, False
    for start in range(0, n, chunk_size):
        rows = slice(start, start + chunk_size)
        if keep[rows].any():
            col_max = p[rows][keep[rows]].amax(0)
            skipped += int(keep[rows].sum()) * int((col_max < eps).sum())
            close |= bool(((col_max - eps).abs() <= 1e-4 * eps).any())
    assume(not close)
    got = LV.skipped_fraction(h, w, t, linear_bias=b, filter_eps=eps, chunk_size=chunk_size)
    if not keep.any():
        assert math.isnan(got), "with every row ignored there is nothing to count: nan"
    else:
        assert got == pytest.approx(skipped / (int(keep.sum()) * 25), abs=1e-12), \
            "skipped_fraction = sum over chunks of counted rows x skipped classes / (counted rows x V)"


def test_output_layer_problems_are_peaked_and_flat_as_documented():
    n, d, v = 1024, 64, 4096
    peaked = LV.output_layer_problem(n, d, v, peaked=True, seed=3)
    flat = LV.output_layer_problem(n, d, v, peaked=False, seed=3)
    for h, w, t in (peaked, flat):
        assert h.shape == (n, d) and w.shape == (v, d) and t.shape == (n,)
        assert h.dtype == w.dtype == torch.float32 and t.dtype == torch.int64
        assert 0 <= int(t.min()) and int(t.max()) < v
    again = LV.output_layer_problem(n, d, v, peaked=True, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(peaked, again)), "the same seed must give the same problem"
    s_peaked = LV.softmax_summary(peaked[0], peaked[1], filter_eps=[2**-12])
    s_flat = LV.softmax_summary(flat[0], flat[1], filter_eps=[2**-12])
    assert 0.3 < s_peaked["entropy"] < 3 and s_peaked["max_probability"] > 0.5, s_peaked
    assert abs(s_flat["entropy"] - math.log(v)) < 0.1 and s_flat["max_probability"] < 10 / v, s_flat
    ranks = peaked[2].float()  # targets follow the Zipf law: frequent (low-index) classes are most common
    assert ranks.median() < v / 8


def test_softmax_summary_matches_a_direct_computation():
    h, w, b, t = make(50, 4, 30, dtype=torch.float32, spread=2.0)
    got = LV.softmax_summary(h, w, linear_bias=b, filter_eps=[0.01, 0.1], chunk_size=7)
    p = torch.softmax(F.linear(h.double(), w.double(), b.double()), dim=1)
    assert got["entropy"] == pytest.approx(-(p * p.log()).sum(1).mean().item(), rel=1e-9)
    assert got["max_probability"] == pytest.approx(p.amax(1).mean().item(), rel=1e-9)
    for eps in (0.01, 0.1):
        assert got["mass_below"][eps] == pytest.approx((p * (p < eps)).sum(1).mean().item(), rel=1e-9, abs=1e-15)


# ----------------------------------------------------------------------------- bad arguments

H, W, B, T = make(4, 3, 5)
BAD = [
    ("zero", 0.0, ValueError, r"filter_eps must be in \(0, 1\)"),
    ("negative", -1e-3, ValueError, r"filter_eps must be in \(0, 1\)"),
    ("one", 1.0, ValueError, r"filter_eps must be in \(0, 1\)"),
    ("above one", 2, ValueError, r"filter_eps must be in \(0, 1\)"),
    ("nan", float("nan"), ValueError, "filter_eps must be a finite number"),
    ("inf", float("inf"), ValueError, "filter_eps must be a finite number"),
    ("bool", True, TypeError, "filter_eps must be a number"),
    ("string", "1e-5", TypeError, "filter_eps must be a number"),
    ("list", [1e-5], TypeError, "filter_eps must be a number"),
]


@pytest.mark.parametrize("value, exc, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_filter_eps_raises_a_clear_error(value, exc, match):
    w = W.clone().requires_grad_()
    with pytest.raises(exc, match=match):
        LV.linear_cross_entropy(H, w, T, filter_eps=value)
    with pytest.raises(exc, match=match):
        LV.skipped_fraction(H, W, T, filter_eps=value)


def test_skipped_fraction_needs_a_filter_eps():
    with pytest.raises(TypeError, match="filter_eps must be a number"):
        LV.skipped_fraction(H, W, T, filter_eps=None)


def test_output_layer_problem_bad_sizes():
    with pytest.raises(ValueError, match="d must be an int >= 2"):
        LV.output_layer_problem(4, 1, 5)
    with pytest.raises(TypeError, match="v must be an int"):
        LV.output_layer_problem(4, 3, 5.0)
