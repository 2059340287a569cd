"""softmax_ce.sparse against the `entmax` package (Peters, Niculae & Martins's own implementation, pinned in
requirements.txt): sparsemax, 1.5-entmax, α-entmax by bisection, and the sparsemax loss with its gradient.

The package is written in torch and shares no code with ours (sorting there, sorting or bisection here), so
agreement on random logits of every scale is a check of both. test_sparse.py checks ours on its own terms
(optimality conditions, sorting against bisection, autograd of a torch loss written there).
"""

import entmax
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import sparse as SP


@st.composite
def rows(draw, max_side=8):
    """(N, C) float64 logits at scale 1, 30 or 1e4, with ties on purpose (values rounded to a coarse grid)."""
    n, c = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    scale = draw(st.sampled_from([1.0, 30.0, 1e4]))
    x = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-1, 1, allow_nan=False, width=32)))
    if draw(st.booleans()):
        x = np.round(x * 4) / 4  # ties: several classes on the threshold's either side
    return x * scale


def package(fn, x, **kwargs):
    return fn(torch.from_numpy(x), dim=-1, **kwargs).numpy()


@given(rows())
def test_sparsemax_and_entmax15_equal_the_packages(x):
    atol = 1e-12 * max(1.0, np.abs(x).max())
    np.testing.assert_allclose(SP.sparsemax(x), package(entmax.sparsemax, x), rtol=0, atol=atol,
                               err_msg="SP.sparsemax differs from entmax.sparsemax: check the threshold τ after sorting")
    np.testing.assert_allclose(SP.entmax15(x), package(entmax.entmax15, x), rtol=0, atol=atol,
                               err_msg="SP.entmax15 differs from entmax.entmax15: check Alg. 2's threshold on z/2")


@given(rows(), st.sampled_from([1.25, 1.5, 2.0, 3.0]))
def test_entmax_bisect_equals_the_packages(x, alpha):
    ours = SP.entmax_bisect(x, alpha=alpha)
    theirs = package(entmax.entmax_bisect, x, alpha=alpha, n_iter=100)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9,
                               err_msg=f"SP.entmax_bisect(alpha={alpha}) differs from entmax.entmax_bisect: "
                                       "check the bisection bounds on τ and the number of steps")


@given(rows())
def test_sparsemax_loss_and_its_gradient_equal_the_packages(x):
    target = np.arange(x.shape[0]) % x.shape[1]
    z = torch.from_numpy(x).requires_grad_()
    theirs = entmax.sparsemax_loss(z, torch.from_numpy(target))  # per row, shape (N,)
    theirs.sum().backward()
    scale = max(1.0, np.abs(x).max())
    np.testing.assert_allclose(SP.sparsemax_loss(x, target, reduction="none"), theirs.detach().numpy(),
                               rtol=1e-9, atol=1e-9 * scale**2,
                               err_msg="SP.sparsemax_loss differs from entmax.sparsemax_loss")
    np.testing.assert_allclose(SP.sparsemax_loss_grad(x, target, reduction="sum"), z.grad.numpy(), rtol=0, atol=1e-12 * scale,
                               err_msg="SP.sparsemax_loss_grad differs from the gradient of entmax.sparsemax_loss")


@pytest.mark.parametrize("fn", [entmax.sparsemax, entmax.entmax15])
def test_the_package_and_ours_give_exact_zeros_in_the_same_places(fn):
    x = np.random.default_rng(0).normal(scale=2.0, size=(200, 30))
    ours = SP.sparsemax(x) if fn is entmax.sparsemax else SP.entmax15(x)
    np.testing.assert_array_equal(ours == 0, package(fn, x) == 0,
                                  err_msg=f"{fn.__name__}: the supports differ, so one of the thresholds is wrong")
