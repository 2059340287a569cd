"""Every function in softmax_ce.functional against its torch.nn.functional twin, on random inputs.

Hypothesis draws shapes, dims, dtypes (float32/float64), scales up to |x| = 1e4 and every option.
float64 must agree to 1e-10 and float32 to 1e-5, relative to the size of the logits.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from softmax_ce import functional as npF
from strategies import REDUCTIONS, assert_close, binary_problem, class_problem, logits, torch_opts

# ----------------------------------------------------------------------------- softmax family


@given(logits(), st.data())
def test_softmax_matches_torch(xs, data):
    x, scale = xs
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_close(npF.softmax(x, dim=dim), F.softmax(torch.from_numpy(x), dim=dim), x.dtype)


@given(logits(), st.data())
def test_log_softmax_matches_torch(xs, data):
    x, scale = xs
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_close(npF.log_softmax(x, dim=dim), F.log_softmax(torch.from_numpy(x), dim=dim), x.dtype, scale)


@given(logits(), st.data(), st.booleans())
def test_logsumexp_matches_torch(xs, data, keepdim):
    x, scale = xs
    dims = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
    dim = dims[0] if len(dims) == 1 and data.draw(st.booleans()) else tuple(dims)
    ours = npF.logsumexp(x, dim=dim, keepdim=keepdim)
    assert_close(ours, torch.logsumexp(torch.from_numpy(x), dim=dim, keepdim=keepdim), x.dtype, scale)


@given(logits())
def test_sigmoid_and_logsigmoid_match_torch(xs):
    x, scale = xs
    assert_close(npF.sigmoid(x), torch.sigmoid(torch.from_numpy(x)), x.dtype)
    assert_close(npF.logsigmoid(x), F.logsigmoid(torch.from_numpy(x)), x.dtype, scale)


@given(logits(), st.data())
def test_softmax_invariants(xs, data):
    """Rows sum to 1, adding a constant changes nothing, and the order of the logits is kept."""
    x, scale = xs
    x = x.astype(np.float64)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    p = npF.softmax(x, dim=dim)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=1e-12)
    shift = data.draw(st.floats(-1e3, 1e3))
    np.testing.assert_allclose(npF.softmax(x + shift, dim=dim), p, rtol=1e-9, atol=1e-12)
    order_x = np.argsort(x, axis=dim, kind="stable")
    sorted_p = np.take_along_axis(p, order_x, axis=dim)
    assert np.all(np.diff(sorted_p, axis=dim) >= 0)


@pytest.mark.parametrize("fn", [npF.softmax, npF.log_softmax])
def test_extreme_logits_stay_finite(fn):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    out = fn(x, dim=-1)
    assert np.all(np.isfinite(out))
    assert_close(out, (F.softmax if fn is npF.softmax else F.log_softmax)(torch.from_numpy(x), dim=-1), np.float64, 1e4)


def test_masked_rows_match_torch():
    """−inf entries get probability 0; a row that is entirely −inf is nan in torch and here."""
    x = np.array([[1.0, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf]])
    t = torch.from_numpy(x)
    assert_close(npF.softmax(x, dim=1), F.softmax(t, dim=1), np.float64)
    assert_close(npF.log_softmax(x, dim=1), F.log_softmax(t, dim=1), np.float64)
    assert_close(npF.logsumexp(x, dim=1), torch.logsumexp(t, dim=1), np.float64)
    assert np.isnan(npF.softmax(x, dim=1)[1]).all()


def test_zero_dim_and_empty_inputs_match_torch():
    s = np.array(3.0)
    assert_close(npF.softmax(s, dim=0), F.softmax(torch.tensor(3.0, dtype=torch.float64), dim=0), np.float64)
    assert_close(npF.log_softmax(s, dim=-1), F.log_softmax(torch.tensor(3.0, dtype=torch.float64), dim=-1), np.float64)
    e = np.zeros((0, 3))
    assert npF.softmax(e, dim=0).shape == (0, 3)
    assert_close(npF.logsumexp(e, dim=0), torch.logsumexp(torch.from_numpy(e), dim=0), np.float64)


# ----------------------------------------------------------------------------- losses


@given(class_problem())
def test_cross_entropy_class_indices_match_torch(problem):
    x, target, opts, scale = problem
    ours = npF.cross_entropy(x, target, **opts)
    theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(target), **torch_opts(opts))
    assert_close(ours, theirs, x.dtype, scale)


@given(class_problem(probs=True))
def test_cross_entropy_class_probabilities_match_torch(problem):
    x, target, opts, scale = problem
    ours = npF.cross_entropy(x, target, **opts)
    theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(target), **torch_opts(opts))
    assert_close(ours, theirs, x.dtype, scale)


@given(class_problem())
def test_nll_loss_matches_torch(problem):
    x, target, opts, scale = problem
    opts.pop("label_smoothing")
    logp = npF.log_softmax(x, dim=0 if x.ndim == 1 else 1)
    ours = npF.nll_loss(logp, target, **opts)
    theirs = F.nll_loss(torch.from_numpy(logp), torch.from_numpy(target), **torch_opts(opts))
    assert_close(ours, theirs, x.dtype, scale)


def test_cross_entropy_is_log_softmax_then_nll_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    np.testing.assert_allclose(npF.cross_entropy(x, y), npF.nll_loss(npF.log_softmax(x, dim=1), y), rtol=1e-15)


def test_every_target_ignored_gives_nan_like_torch():
    x, y = np.zeros((2, 3)), np.array([-100, -100])
    assert np.isnan(npF.cross_entropy(x, y))
    assert np.isnan(F.cross_entropy(torch.from_numpy(x), torch.from_numpy(y)).item())
    assert npF.cross_entropy(x, y, reduction="sum") == 0.0


INDEX_DTYPES = [np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]
INDEX_LAYOUTS = {"(C,)": ((4,), ()), "(N, C)": ((3, 4), (3,)), "(N, C, d1)": ((3, 4, 2), (3, 2)),
                 "(N, C, d1, d2)": ((2, 4, 2, 3), (2, 2, 3))}


@pytest.mark.parametrize("layout", INDEX_LAYOUTS)
@pytest.mark.parametrize("dtype", INDEX_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_index_dtypes_are_accepted_exactly_when_torch_accepts_them(loss, dtype, layout):
    """torch takes int64 class indices, and uint8 for an input of shape (C,) or (N, C) only; npF mirrors that, and its
    refusal names the fix."""
    shape, batch_shape = INDEX_LAYOUTS[layout]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    t = rng.integers(0, 2 if dtype is np.bool_ else shape[0 if len(shape) == 1 else 1], size=batch_shape).astype(dtype)
    try:
        theirs = getattr(F, loss)(torch.from_numpy(x), torch.from_numpy(t), reduction="none")
    except RuntimeError:
        theirs = None
    if theirs is None:
        with pytest.raises(TypeError, match=r"astype\(np\.int64\)"):
            getattr(npF, loss)(x, t, reduction="none")
    else:
        assert_close(getattr(npF, loss)(x, t, reduction="none"), theirs, np.float64)
    accepted = np.dtype(dtype) == np.int64 or (np.dtype(dtype) == np.uint8 and len(shape) <= 2)
    assert (theirs is not None) == accepted, "torch's rule changed: update validation.class_indices and this test"


@given(binary_problem(), st.booleans())
def test_binary_cross_entropy_with_logits_matches_torch(problem, use_pos_weight):
    x, y, opts, scale = problem
    if use_pos_weight:
        opts["pos_weight"] = np.linspace(0.5, 4, x.shape[-1]).astype(x.dtype)
    ours = npF.binary_cross_entropy_with_logits(x, y, **opts)
    theirs = F.binary_cross_entropy_with_logits(torch.from_numpy(x), torch.from_numpy(y), **torch_opts(opts))
    assert_close(ours, theirs, x.dtype, scale)


@given(binary_problem())
def test_binary_cross_entropy_matches_torch_including_the_clamp(problem):
    x, y, opts, scale = problem
    p = npF.sigmoid(x)  # exactly 0 or 1 for large |x|: torch clamps log at −100, so do we
    ours = npF.binary_cross_entropy(p, y, **opts)
    theirs = F.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y), **torch_opts(opts))
    assert_close(ours, theirs, x.dtype, 100.0)


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides the total loss:UserWarning")  # torch nudges to batchmean
@given(logits(min_dims=2, max_dims=3), REDUCTIONS | st.just("batchmean"), st.booleans())
def test_kl_div_matches_torch(xs, reduction, log_target):
    x, scale = xs
    logp = npF.log_softmax(x, dim=1)
    y = npF.softmax(np.flip(x, axis=1).copy() / max(scale, 1.0), dim=1)
    if log_target:
        y = np.log(y)
    ours = npF.kl_div(logp, y, reduction=reduction, log_target=log_target)
    theirs = F.kl_div(torch.from_numpy(logp), torch.from_numpy(y), reduction=reduction, log_target=log_target)
    assert_close(ours, theirs, x.dtype, scale)


def test_kl_div_is_cross_entropy_minus_entropy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 5)), npF.softmax(rng.normal(size=(4, 5)), dim=1)
    entropy = -(y * np.log(y)).sum(axis=1).mean()
    kl = npF.kl_div(npF.log_softmax(x, dim=1), y, reduction="batchmean")
    np.testing.assert_allclose(npF.cross_entropy(x, y), entropy + kl, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    x = np.array([[2.0, 1.0, 0.1]], dtype=dtype)
    for out in (npF.softmax(x, dim=1), npF.log_softmax(x, dim=1), npF.logsumexp(x, dim=1), npF.sigmoid(x),
                npF.cross_entropy(x, np.array([0])), npF.binary_cross_entropy_with_logits(x, np.ones_like(x))):
        assert np.asarray(out).dtype == dtype


# ----------------------------------------------------------------------------- bad input

X = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]])
Y = np.array([0, 1])
BAD_INPUTS = [
    ("int logits", lambda: npF.softmax(np.array([2, 1, 0]), dim=0), TypeError, "floating-point"),
    ("string logits", lambda: npF.cross_entropy(np.array(["a", "b"]), Y), TypeError, "floating-point"),
    ("torch tensor", lambda: npF.softmax(torch.zeros(3), dim=0), TypeError, "torch tensor"),
    ("dim out of range", lambda: npF.softmax(X, dim=2), ValueError, "out of range"),
    ("float dim", lambda: npF.log_softmax(X, dim=1.0), TypeError, "dim must be an int"),
    ("repeated dim", lambda: npF.logsumexp(X, dim=(1, -1)), ValueError, "same dimension twice"),
    ("0-d input to a loss", lambda: npF.cross_entropy(np.array(1.0), np.array(0)), ValueError, "at least 1 dimension"),
    ("batch sizes differ", lambda: npF.cross_entropy(X, np.array([0, 1, 2])), ValueError, "batch sizes differ"),
    ("wrong number of dimensions", lambda: npF.cross_entropy(X, np.array([[0], [1]])), ValueError, "shape"),
    ("class index too large", lambda: npF.cross_entropy(X, np.array([0, 3])), ValueError, "out of range for 3 classes"),
    ("negative class index", lambda: npF.nll_loss(X, np.array([-1, 0])), ValueError, "negative"),
    ("float class indices", lambda: npF.cross_entropy(X, np.array([0.0, 1.0])), TypeError, "must be integers"),
    ("bool class indices", lambda: npF.nll_loss(X, np.array([True, False])), TypeError, "must be integers"),
    ("int64 one-hot targets", lambda: npF.cross_entropy(X, np.eye(3, dtype=np.int64)[Y]), TypeError, "must be floats"),
    ("probability target of another shape", lambda: npF.cross_entropy(X, np.full((2, 4), 0.25)), TypeError, "same shape as input"),
    ("target probabilities > 1", lambda: npF.cross_entropy(X, X), ValueError, r"probabilities in \[0, 1\]"),
    ("BCE input is a logit", lambda: npF.binary_cross_entropy(X, np.ones_like(X)), ValueError, "is it a logit"),
    ("BCE target outside [0, 1]", lambda: npF.binary_cross_entropy_with_logits(X, X + 1), ValueError, "target must hold"),
    ("BCE shapes (N, 1) vs (N,)", lambda: npF.binary_cross_entropy_with_logits(np.zeros((2, 1)), np.zeros(2)), ValueError, "must equal input shape"),
    ("unknown reduction", lambda: npF.cross_entropy(X, Y, reduction="avg"), ValueError, "unknown reduction"),
    ("reduction not a string", lambda: npF.nll_loss(X, Y, reduction=None), TypeError, "reduction must be a string"),
    ("weight of the wrong length", lambda: npF.cross_entropy(X, Y, weight=np.ones(2)), ValueError, r"weight must have shape \(3,\)"),
    ("label_smoothing > 1", lambda: npF.cross_entropy(X, Y, label_smoothing=1.5), ValueError, r"label_smoothing must be in \[0, 1\]"),
    ("label_smoothing not a number", lambda: npF.cross_entropy(X, Y, label_smoothing="0.1"), TypeError, "label_smoothing must be a number"),
    ("pos_weight does not broadcast", lambda: npF.binary_cross_entropy_with_logits(X, np.ones_like(X), pos_weight=np.ones(2)), ValueError, "does not broadcast"),
    ("kl_div shape mismatch", lambda: npF.kl_div(X, X[:1]), ValueError, "must equal input shape"),
]


@pytest.mark.parametrize("call, exc, match", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()

