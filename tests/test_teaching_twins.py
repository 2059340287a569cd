"""One source of truth (the d2l idea): a function a notebook writes out for teaching must agree with the helper
module's version, which the rest of the course and the unit tests rely on. Each such function is taken from the
stored notebook as written (its `def`, parsed with ast), run on random inputs, and compared with its twin.

A notebook function named like a helper function must be registered below; so must every registered one exist.
Solution cells are not here: their exercise checkers already compare them with the helper module.
"""

import ast
import contextlib
import io
import math
import pathlib

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import functional as npF
from softmax_ce import gradients, large_vocab, metrics

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HELPER_NAMES = {name for module in (npF, gradients, large_vocab, metrics) for name in dir(module)
                if not name.startswith("_") and callable(getattr(module, name)) and getattr(module, name).__module__ == module.__name__}


def teaching_defs():
    """{(notebook stem, function name, occurrence): source} for every top-level def outside solution cells."""
    found, seen = {}, {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
                continue
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    key = (path.stem, node.name)
                    seen[key] = seen.get(key, -1) + 1
                    found[(*key, seen[key])] = ast.get_source_segment(cell.source, node)
    return found


DEFS = teaching_defs()


def notebook_function(stem, name, occurrence=0):
    namespace = {"np": np, "torch": torch, "F": F, "npF": npF, "math": math}
    exec(compile(DEFS[(stem, name, occurrence)], f"{stem}.ipynb:{name}", "exec"), namespace)
    return namespace[name]


def quietly(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def arrays(min_dims=1, max_dims=3, max_side=6, scale=10.0):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side),
                      elements=st.floats(-scale, scale))


# ------------------------------------------------------------------------------------------------ the twins


@given(x=arrays(max_dims=1))
def test_01_seed_softmax_is_right_for_one_vector(x):
    assert np.allclose(notebook_function("01_softmax", "softmax", 0)(x), npF.softmax(x, dim=0), rtol=1e-12, atol=0)


def test_01_seed_softmax_is_wrong_for_a_batch():
    """The tutorials' axis=0 normalises columns: the mistake notebook 01 explains, kept visible on purpose."""
    X = np.array([[2.0, 1.0, 0.1], [1.0, 3.0, 0.2]])
    seed = notebook_function("01_softmax", "softmax", 0)(X)
    assert np.allclose(seed.sum(axis=0), 1) and not np.allclose(seed, npF.softmax(X, dim=-1))


@given(x=arrays(max_dims=4, scale=1e3), data=st.data())
def test_01_stable_softmax_is_the_helpers(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(notebook_function("01_softmax", "softmax", 1)(x, dim=dim), npF.softmax(x, dim=dim),
                               rtol=1e-12, atol=1e-300)


@given(raw=arrays(min_dims=2, max_dims=2, scale=5.0), data=st.data())
def test_02_cross_entropy_on_probabilities_is_the_helpers_with_probability_targets(raw, data):
    p = npF.softmax(raw, dim=1)
    y = np.eye(raw.shape[1])[data.draw(hnp.arrays(np.int64, raw.shape[0], elements=st.integers(0, raw.shape[1] - 1)))]
    ours = notebook_function("02_cross_entropy", "cross_entropy")(y, p)
    np.testing.assert_allclose(ours, npF.cross_entropy(np.log(p), y, reduction="sum"), rtol=1e-10, atol=1e-12)


@given(z=arrays(scale=30.0))
def test_05_naive_softmax_agrees_where_exp_does_not_overflow(z):
    np.testing.assert_allclose(notebook_function("05_numerical_stability", "naive_softmax")(z), npF.softmax(z, dim=-1),
                               rtol=1e-10, atol=1e-300)


@given(z=arrays(scale=1e300))
def test_05_stable_logsumexp_is_the_helpers(z):
    np.testing.assert_allclose(notebook_function("05_numerical_stability", "logsumexp_stable")(z),
                               npF.logsumexp(z, dim=-1), rtol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), c=st.integers(2, 5))
def test_06_manual_backward_is_the_helpers_gradient_and_autograds(seed, n, c):
    rng = np.random.default_rng(seed)
    X, labels = rng.normal(size=(n, 3)), rng.integers(0, c, size=n)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4), "W2": rng.normal(size=(c, 4)), "b2": rng.normal(size=c)}
    loss, grads = notebook_function("06_gradients", "forward_backward")(X, labels, **params)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    Z = F.linear(torch.relu(F.linear(torch.tensor(X), t["W1"], t["b1"])), t["W2"], t["b2"])
    torch_loss = F.cross_entropy(Z, torch.tensor(labels))
    torch_loss.backward()
    assert math.isclose(loss, torch_loss.item(), rel_tol=1e-10, abs_tol=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-9, atol=1e-12)
    h = np.maximum(X @ params["W1"].T + params["b1"], 0)  # the last layer's gradient is exactly the helper's P − Y
    np.testing.assert_allclose(grads["W2"], gradients.cross_entropy_grad(h @ params["W2"].T + params["b2"], labels).T @ h,
                               rtol=1e-9, atol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), c=st.integers(2, 5), data=st.data())
def test_07_safe_mean_is_the_mean_unless_every_target_is_ignored(seed, n, c, data):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * 3
    target = np.array(data.draw(st.lists(st.sampled_from([-100, *range(c)]), min_size=n, max_size=n)))
    ours = notebook_function("07_loss_options", "safe_mean_cross_entropy")(torch.tensor(logits), torch.tensor(target)).item()
    if (target == -100).all():
        assert ours == 0.0 and math.isnan(npF.cross_entropy(logits, target))
    else:
        assert math.isclose(ours, npF.cross_entropy(logits, target), rel_tol=1e-10, abs_tol=1e-12)


@given(z=arrays(max_dims=1, max_side=12, scale=100.0))
def test_09_online_logsumexp_is_the_helpers(z):
    ours = quietly(notebook_function("09_large_vocabulary", "online_logsumexp_1d"), z)
    assert math.isclose(ours, large_vocab.online_logsumexp(z), rel_tol=1e-12, abs_tol=1e-13)
    assert math.isclose(ours, npF.logsumexp(z, dim=0), rel_tol=1e-12, abs_tol=1e-13)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), v=st.integers(2, 40), chunk=st.integers(1, 25))
def test_09_chunked_loss_and_gradients_are_the_helpers(seed, n, v, chunk):
    g = torch.Generator().manual_seed(seed)
    H, W = torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randn(v, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, v, (n,), generator=g)
    loss, grad_H, grad_W = notebook_function("09_large_vocabulary", "chunked_mean_loss_and_grads")(H, W, t, chunk)
    Hr, Wr = H.clone().requires_grad_(), W.clone().requires_grad_()
    helper = large_vocab.linear_cross_entropy(Hr, Wr, t, chunk_size=chunk)
    helper.backward()
    assert math.isclose(float(loss), helper.item(), rel_tol=1e-10, abs_tol=1e-12)
    torch.testing.assert_close(grad_H, Hr.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad_W, Wr.grad, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------------ the registry

REGISTERED = {
    ("01_softmax", "softmax", 0), ("01_softmax", "softmax", 1), ("02_cross_entropy", "cross_entropy", 0),
    ("05_numerical_stability", "naive_softmax", 0), ("05_numerical_stability", "logsumexp_stable", 0),
    ("06_gradients", "forward_backward", 0), ("07_loss_options", "safe_mean_cross_entropy", 0),
    ("09_large_vocabulary", "online_logsumexp_1d", 0), ("09_large_vocabulary", "chunked_mean_loss_and_grads", 0),
}


def test_every_registered_twin_is_still_in_its_notebook():
    assert REGISTERED <= set(DEFS), f"renamed or removed from a notebook: {sorted(REGISTERED - set(DEFS))}"


def test_every_notebook_function_named_like_a_helper_function_is_registered():
    assert "softmax" in HELPER_NAMES and "online_logsumexp" in HELPER_NAMES  # the scan sees the helper modules
    twins = {key for key in DEFS if key[1] in HELPER_NAMES}
    assert twins <= REGISTERED, f"add a test above comparing these with the helper module: {sorted(twins - REGISTERED)}"


@pytest.mark.parametrize("key", sorted(REGISTERED), ids=[f"{s}:{n}#{o}" for s, n, o in sorted(REGISTERED)])
def test_every_registered_twin_has_its_test(key):
    stem, name, _ = key
    tests = [n for n in globals() if n.startswith(f"test_{stem[:2]}_")]
    sources = "\n".join(ast.get_source_segment(SOURCE, f) for f in ast.parse(SOURCE).body
                        if isinstance(f, ast.FunctionDef) and f.name in tests)
    assert f'"{name}"' in sources, f"no test calls notebook_function({stem!r}, {name!r})"


SOURCE = pathlib.Path(__file__).read_text(encoding="utf-8")
