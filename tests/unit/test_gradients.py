"""Hand-derived gradients (softmax_ce.gradients) against torch autograd, on random problems and every option."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from softmax_ce import functional as npF
from softmax_ce import gradients as G
from strategies import assert_close, binary_problem, class_problem, logits, torch_opts


def autograd(fn, x, *args, **kwargs):
    """d fn(x).sum() / dx by torch autograd, for a NumPy x."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    fn(xt, *args, **kwargs).sum().backward()
    return xt.grad


@given(logits(max_dims=3))
def test_softmax_jacobian_matches_autograd(xs):
    x, _ = xs
    jac = G.softmax_jacobian(x)
    flat = x.reshape(-1, x.shape[-1])
    for row, j in zip(flat, jac.reshape(-1, x.shape[-1], x.shape[-1])):
        want = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, dim=-1), torch.from_numpy(row.copy()))
        assert_close(j, want, x.dtype)


@given(logits(), st.data())
def test_softmax_backward_matches_autograd(xs, data):
    x, _ = xs
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    g = np.cos(np.arange(x.size, dtype=x.dtype)).reshape(x.shape)  # an arbitrary upstream gradient
    xt = torch.from_numpy(x.copy()).requires_grad_()
    (torch.softmax(xt, dim=dim) * torch.from_numpy(g)).sum().backward()
    assert_close(G.softmax_backward(g, npF.softmax(x, dim=dim), dim=dim), xt.grad, x.dtype)


def test_softmax_jacobian_properties():
    """Symmetric, rows sum to 0 (probabilities always sum to 1), and J @ v is softmax_backward."""
    z = np.array([2.0, 1.0, 0.1])
    J = G.softmax_jacobian(z)
    np.testing.assert_allclose(J, J.T)
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-16)
    v = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(J @ v, G.softmax_backward(v, npF.softmax(z, dim=0), dim=0), rtol=1e-12)


@given(class_problem())
def test_cross_entropy_grad_class_indices_matches_autograd(problem):
    x, target, opts, scale = problem
    want = autograd(F.cross_entropy, x, torch.from_numpy(target), **torch_opts(opts))
    assert_close(G.cross_entropy_grad(x, target, **opts), want, x.dtype)


@given(class_problem(probs=True))
def test_cross_entropy_grad_class_probabilities_matches_autograd(problem):
    x, target, opts, scale = problem
    want = autograd(F.cross_entropy, x, torch.from_numpy(target), **torch_opts(opts))
    assert_close(G.cross_entropy_grad(x, target, **opts), want, x.dtype)


def test_cross_entropy_grad_is_p_minus_y_over_n():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    np.testing.assert_allclose(G.cross_entropy_grad(z, y), (npF.softmax(z, dim=1) - np.eye(4)[y]) / 5, rtol=1e-12)


@given(binary_problem(), st.booleans())
def test_bce_with_logits_grad_matches_autograd(problem, use_pos_weight):
    x, y, opts, scale = problem
    if use_pos_weight:
        opts["pos_weight"] = np.linspace(0.5, 4, x.shape[-1]).astype(x.dtype)
    want = autograd(F.binary_cross_entropy_with_logits, x, torch.from_numpy(y), **torch_opts(opts))
    assert_close(G.binary_cross_entropy_with_logits_grad(x, y, **opts), want, x.dtype)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: G.softmax_jacobian(np.array(1.0)), ValueError, "at least 1 dimension"),
    (lambda: G.softmax_backward(np.ones(3), np.ones(4) / 4, dim=0), ValueError, "must equal output shape"),
    (lambda: G.cross_entropy_grad(np.zeros((2, 3)), np.array([0, 5])), ValueError, "out of range"),
    (lambda: G.cross_entropy_grad(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"), ValueError, "unknown reduction"),
    (lambda: G.binary_cross_entropy_with_logits_grad(np.zeros(2), np.zeros(3)), ValueError, "must equal input shape"),
], ids=["0-d jacobian", "backward shapes", "class out of range", "bad reduction", "bce shapes"])
def test_gradients_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
