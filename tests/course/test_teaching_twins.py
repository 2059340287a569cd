"""One source of truth (the d2l idea): a function a notebook writes out for teaching must agree with the helper
module's version, which the rest of the course and the unit tests rely on.

The notebook marks each such function with a comment on the line above its `def`: `# twin: npF.logsumexp`, or with
the conditions of the agreement, `# twin: npF.softmax for one vector only (the tutorials' version)`. This file finds
every mark (no list of notebook functions is kept here), takes the function from the stored notebook as written
(parsed with ast), runs it on random inputs, and compares it with its twin. Each test below covers one mark text;
a mark without a test, or a notebook function named like a helper function without a mark, fails.
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
from softmax_ce import gradients, large_vocab, metrics, parallel

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HELPER_NAMES = {name for module in (npF, gradients, large_vocab, metrics) for name in dir(module)
                if not name.startswith("_") and callable(getattr(module, name)) and getattr(module, name).__module__ == module.__name__}


def teaching_defs():
    """[(notebook stem, function name, its mark or None, source)] for every top-level def outside solution cells."""
    found = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
                continue
            lines = cell.source.split("\n")
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # the mark sits above decorators
                    above = lines[first - 2].strip() if first > 1 else ""
                    mark = above[len("# twin:"):].strip() if above.startswith("# twin:") else None
                    found.append((path.stem, node.name, mark, ast.get_source_segment(cell.source, node)))
    return found


DEFS = teaching_defs()
MARKS = {mark: (stem, name, source) for stem, name, mark, source in DEFS if mark}
DUPLICATES = sorted({mark for _, _, mark, _ in DEFS if mark and sum(m == mark for _, _, m, _ in DEFS) > 1})
TESTED = set()  # the mark texts the tests below ask for (filled in as this module is imported)


def notebook_function(mark):
    """The function a notebook marks with ``# twin: <mark>``, compiled from the notebook's source."""
    TESTED.add(mark)
    if mark not in MARKS:
        return None
    stem, name, source = MARKS[mark]
    namespace = {"np": np, "torch": torch, "F": F, "npF": npF, "math": math}
    exec(compile(source, f"{stem}.ipynb:{name}", "exec"), namespace)
    return namespace[name]


def twin(mark):
    """Parametrize a test over the function marked ``mark`` (none: the test fails, saying which mark is missing)."""
    function = notebook_function(mark)
    if function is None:
        skip = pytest.mark.skip(reason=f"no notebook marks a def `# twin: {mark}`: test_every_tested_mark_is_in_a_notebook")
        return pytest.mark.parametrize("ours", [pytest.param(None, marks=skip)], ids=["missing"])
    return pytest.mark.parametrize("ours", [function], ids=[f"{MARKS[mark][0]}:{MARKS[mark][1]}"])


def quietly(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def arrays(min_dims=1, max_dims=3, max_side=6, scale=10.0):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side),
                      elements=st.floats(-scale, scale))


# ------------------------------------------------------------------------------------------------ the twins


@twin("npF.softmax for one vector only (the tutorials' version)")
@given(x=arrays(max_dims=1))
def test_01_seed_softmax_is_right_for_one_vector(ours, x):
    assert np.allclose(ours(x), npF.softmax(x, dim=0), rtol=1e-12, atol=0)


@twin("npF.softmax for one vector only (the tutorials' version)")
def test_01_seed_softmax_is_wrong_for_a_batch(ours):
    """The tutorials' axis=0 normalises columns: the mistake notebook 01 explains, kept visible on purpose."""
    X = np.array([[2.0, 1.0, 0.1], [1.0, 3.0, 0.2]])
    seed = ours(X)
    assert np.allclose(seed.sum(axis=0), 1) and not np.allclose(seed, npF.softmax(X, dim=-1))


@twin("npF.softmax")
@given(x=arrays(max_dims=4, scale=1e3), data=st.data())
def test_01_stable_softmax_is_the_helpers(ours, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(ours(x, dim=dim), npF.softmax(x, dim=dim),
                               rtol=1e-12, atol=1e-300)


@twin("npF.cross_entropy with probability targets, summed (the tutorials' version)")
@given(raw=arrays(min_dims=2, max_dims=2, scale=5.0), data=st.data())
def test_02_cross_entropy_on_probabilities_is_the_helpers_with_probability_targets(ours, raw, data):
    p = npF.softmax(raw, dim=1)
    y = np.eye(raw.shape[1])[data.draw(hnp.arrays(np.int64, raw.shape[0], elements=st.integers(0, raw.shape[1] - 1)))]
    got = ours(y, p)
    np.testing.assert_allclose(got, npF.cross_entropy(np.log(p), y, reduction="sum"), rtol=1e-10, atol=1e-12)


@twin("npF.softmax where exp does not overflow (unstable on purpose)")
@given(z=arrays(scale=30.0))
def test_05_naive_softmax_agrees_where_exp_does_not_overflow(ours, z):
    np.testing.assert_allclose(ours(z), npF.softmax(z, dim=-1),
                               rtol=1e-10, atol=1e-300)


@twin("npF.logsumexp")
@given(z=arrays(scale=1e300))
def test_05_stable_logsumexp_is_the_helpers(ours, z):
    np.testing.assert_allclose(ours(z),
                               npF.logsumexp(z, dim=-1), rtol=1e-12)


@twin("G.cross_entropy_grad in a two-layer network")
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), c=st.integers(2, 5))
def test_06_manual_backward_is_the_helpers_gradient_and_autograds(ours, seed, n, c):
    rng = np.random.default_rng(seed)
    X, labels = rng.normal(size=(n, 3)), rng.integers(0, c, size=n)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4), "W2": rng.normal(size=(c, 4)), "b2": rng.normal(size=c)}
    loss, grads = ours(X, labels, **params)
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


@twin("npF.cross_entropy unless every target is ignored")
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), c=st.integers(2, 5), data=st.data())
def test_07_safe_mean_is_the_mean_unless_every_target_is_ignored(ours, seed, n, c, data):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * 3
    target = np.array(data.draw(st.lists(st.sampled_from([-100, *range(c)]), min_size=n, max_size=n)))
    ours = ours(torch.tensor(logits), torch.tensor(target)).item()
    if (target == -100).all():
        assert ours == 0.0 and math.isnan(npF.cross_entropy(logits, target))
    else:
        assert math.isclose(ours, npF.cross_entropy(logits, target), rel_tol=1e-10, abs_tol=1e-12)


@twin("LV.online_logsumexp")
@given(z=arrays(max_dims=1, max_side=12, scale=100.0), masked=st.data())
def test_09_online_logsumexp_is_the_helpers(ours, z, masked):
    z = z.copy()
    z[masked.draw(hnp.arrays(np.bool_, z.shape))] = -np.inf  # masked logits, possibly the first or all of them
    with np.errstate(divide="ignore"):  # log 0 = -inf for a row with every logit masked
        got, helper, two_pass = quietly(ours, z), large_vocab.online_logsumexp(z), npF.logsumexp(z, dim=0)
    if np.isneginf(two_pass):
        assert got == helper == -np.inf
    else:
        assert math.isclose(got, helper, rel_tol=1e-12, abs_tol=1e-13)
        assert math.isclose(got, two_pass, rel_tol=1e-12, abs_tol=1e-13)


@twin("PL.shard_statistics for finite logits (the package's also handles a shard masked with -inf)")
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), v=st.integers(1, 30), p=st.integers(1, 6), scale=st.sampled_from([1.0, 300.0]))
def test_11_shard_statistics_are_the_helpers(ours, seed, n, v, p, scale):
    rng = np.random.default_rng(seed)
    z, t = rng.normal(scale=scale, size=(n, v)), rng.integers(0, v, n)
    for start, stop in parallel.shard_ranges(v, min(p, v)):
        got, helper = ours(z[:, start:stop], t, start), parallel.shard_statistics(z[:, start:stop], t, start)
        for name, a, e in zip(("max", "sum of exponentials", "target logit"), got, helper):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=0, err_msg=f"the notebook's {name} differs from PL.shard_statistics")


@twin("LV.linear_cross_entropy with reduction='mean'")
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), v=st.integers(2, 40), chunk=st.integers(1, 25))
def test_09_chunked_loss_and_gradients_are_the_helpers(ours, seed, n, v, chunk):
    g = torch.Generator().manual_seed(seed)
    H, W = torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randn(v, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, v, (n,), generator=g)
    loss, grad_H, grad_W = ours(H, W, t, chunk)
    Hr, Wr = H.clone().requires_grad_(), W.clone().requires_grad_()
    helper = large_vocab.linear_cross_entropy(Hr, Wr, t, chunk_size=chunk)
    helper.backward()
    assert math.isclose(float(loss), helper.item(), rel_tol=1e-10, abs_tol=1e-12)
    torch.testing.assert_close(grad_H, Hr.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad_W, Wr.grad, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------------ the marks


def test_no_two_functions_share_a_mark():
    assert not DUPLICATES, (f"several defs are marked `# twin: {DUPLICATES[0]}`: give each its own mark text (add the "
                            "condition that tells them apart) and its own test")


def test_every_mark_has_a_test():
    untested = sorted(set(MARKS) - TESTED)
    assert not untested, (f"no test compares the functions marked {untested} with their twin: add one here, decorated "
                          f"with @twin(<the mark's text>)")


def test_every_tested_mark_is_in_a_notebook():
    missing = sorted(TESTED - set(MARKS))
    assert not missing, (f"no notebook has a def marked `# twin: {missing[0]}` (the line above the def) any more: "
                         "put the mark back, or remove its test")


def test_every_notebook_function_named_like_a_helper_function_is_marked():
    assert "softmax" in HELPER_NAMES and "online_logsumexp" in HELPER_NAMES  # the scan sees the helper modules
    unmarked = [f"{stem}:{name}" for stem, name, mark, _ in DEFS if name in HELPER_NAMES and not mark]
    assert not unmarked, (f"{unmarked}: a notebook function named like a helper function needs a `# twin: npF.<name>` "
                          "line above its def (and a test here), or another name")
