"""Online softmax and the chunked linear + cross-entropy against torch: values, gradients, errors, the benchmark."""

import json
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import large_vocab as LV
from softmax_ce.memory import peak_rss_growth_mb
from strategies import assert_close, logits

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- online softmax


@given(logits(max_dims=3, max_side=9), st.data())
def test_online_and_blockwise_logsumexp_match_torch(xs, data):
    x, scale = xs
    x = x.copy()
    if data.draw(st.booleans()):  # masked entries, possibly a whole slice
        x[data.draw(hnp.arrays(np.bool_, x.shape))] = -np.inf
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    want = torch.logsumexp(torch.from_numpy(x), dim=dim)
    assert_close(LV.online_logsumexp(x, dim=dim), want, x.dtype, scale)
    block = data.draw(st.integers(1, 10))
    assert_close(LV.blockwise_logsumexp(x, block, dim=dim), want, x.dtype, scale)


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20), st.data())
def test_merging_partial_stats_in_any_split_gives_the_same_result(values, data):
    x = np.array(values)
    cut = data.draw(st.integers(0, len(x)))
    parts = []
    for part in (x[:cut], x[cut:]):
        m = part.max(initial=-np.inf)
        parts.append((m, np.exp(part - m).sum() if part.size else 0.0))
    m, s = LV.merge_logsumexp_stats(*parts[0], *parts[1])
    np.testing.assert_allclose(m + np.log(s), torch.logsumexp(torch.from_numpy(x), 0).item(), rtol=1e-12, atol=1e-14)


def test_online_logsumexp_bad_input():
    with pytest.raises(ValueError, match="block_size must be an int >= 1"):
        LV.blockwise_logsumexp(np.zeros(4), 0)
    with pytest.raises(TypeError, match="floating-point"):
        LV.online_logsumexp(np.arange(3))


# ----------------------------------------------------------------------------- chunked linear + cross-entropy


def naive(h, w, t, b=None, **kw):
    return F.cross_entropy(F.linear(h, w, b), t, **kw)


def make(n, d, v, dtype=torch.float64, ignored=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, dtype=dtype, generator=g)
    w = torch.randn(v, d, dtype=dtype, generator=g) / d**0.5
    b = torch.randn(v, dtype=dtype, generator=g)
    t = torch.randint(0, v, (n,), generator=g)
    t[:ignored] = -100
    return h, w, b, t


def values_and_grads(fn, h, w, b, t, **kw):
    h, w, b = (x.clone().requires_grad_() for x in (h, w, b))
    loss = fn(h, w, t, b, **kw)
    if loss.ndim:  # reduction='none': a different grad_output for every row
        (loss * torch.linspace(0.5, 2, len(loss), dtype=loss.dtype)).sum().backward()
    else:
        loss.backward()
    return loss.detach(), h.grad, w.grad, b.grad


def ours(h, w, t, b=None, **kw):
    return LV.linear_cross_entropy(h, w, t, linear_bias=b, **kw)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n, chunk_size", [(12, 4), (13, 4), (5, 64), (1, 1)], ids=["divides", "does-not-divide", "n<chunk", "single"])
@pytest.mark.parametrize("ignored", [0, 3])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_values_and_gradients_match_naive(reduction, n, chunk_size, ignored, label_smoothing):
    h, w, b, t = make(n, 6, 11, ignored=min(ignored, n - 1))
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    got = values_and_grads(ours, h, w, b, t, chunk_size=chunk_size, **kw)
    want = values_and_grads(naive, h, w, b, t, **kw)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64(reduction):
    h, w, b, t = make(7, 4, 9, ignored=2)
    h, w, b = (x.requires_grad_() for x in (h, w, b))
    assert torch.autograd.gradcheck(lambda h, w, b: ours(h, w, t, b, reduction=reduction, label_smoothing=0.1, chunk_size=3), (h, w, b))


def test_larger_float32_case_matches_naive_to_1e5():
    h, w, b, t = make(300, 64, 5000, dtype=torch.float32, ignored=17)
    got = values_and_grads(ours, h, w, b, t, chunk_size=64)
    want = values_and_grads(naive, h, w, b, t)
    for a, e in zip(got, want):
        assert ((a - e).abs().max() / e.abs().max()).item() < 1e-5


def test_every_target_ignored_gives_nan_and_zero_gradients_like_torch():
    h, w, b, t = make(4, 3, 5, ignored=4)
    loss, gh, gw, gb = values_and_grads(ours, h, w, b, t, chunk_size=2)
    assert torch.isnan(loss) and torch.isnan(naive(h, w, t, b))
    assert not gh.any() and not gw.any() and not gb.any()


def test_second_backward_with_retain_graph_gives_the_same_gradients():
    h, w, b, t = make(9, 5, 7)
    w.requires_grad_()
    loss = ours(h, w, t, chunk_size=4)
    first, = torch.autograd.grad(loss, w, retain_graph=True)
    second, = torch.autograd.grad(loss, w)
    torch.testing.assert_close(first, second)
    torch.testing.assert_close(first, torch.autograd.grad(naive(h, w, t), w)[0])


def test_gradients_flow_only_where_asked():
    h, w, b, t = make(6, 3, 4)
    w.requires_grad_()
    ours(h, w, t, chunk_size=4).backward()
    assert w.grad is not None and h.grad is None


H, W, B, T = make(4, 3, 5)
BAD = [
    ("chunk_size 0", lambda: ours(H, W, T, chunk_size=0), ValueError, "chunk_size must be an int >= 1"),
    ("chunk_size -1", lambda: ours(H, W, T, chunk_size=-1), ValueError, "chunk_size must be an int >= 1"),
    ("hidden size mismatch", lambda: ours(H, W[:, :2], T), ValueError, "hidden size mismatch"),
    ("target out of range", lambda: ours(H, W, torch.tensor([0, 1, 5, 2])), ValueError, "out of range for 5 classes"),
    ("negative target", lambda: ours(H, W, torch.tensor([0, -1, 2, 2])), ValueError, "out of range"),
    ("float targets", lambda: ours(H, W, T.double()), TypeError, "tensor of class indices of dtype int64"),
    ("target length", lambda: ours(H, W, T[:3]), ValueError, r"target must have shape \(4,\)"),
    ("3-d input", lambda: ours(H[None], W, T), ValueError, r"input must be \(N, D\)"),
    ("bias shape", lambda: ours(H, W, T, B[:2]), ValueError, r"linear_bias must have shape \(5,\)"),
    ("reduction", lambda: ours(H, W, T, reduction="avg"), ValueError, "unknown reduction"),
    ("label smoothing", lambda: ours(H, W, T, label_smoothing=2.0), ValueError, r"label_smoothing must be in \[0, 1\]"),
    ("numpy input", lambda: ours(H.numpy(), W, T), TypeError, "torch tensors"),
    ("int32 target", lambda: ours(H, W, T.int()), TypeError, r"dtype int64 \(or uint8\).*target.long\(\)"),
]


@pytest.mark.parametrize("call, exc, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- measuring


def test_peak_rss_growth_sees_a_large_allocation():
    _, mb = peak_rss_growth_mb(lambda: np.ones(40 * 2**20 // 8).sum())  # 40 MB, freed at once
    assert 30 < mb < 200


def load_benchmark():
    import large_vocab as bench  # benchmarks/large_vocab.py (pyproject.toml puts benchmarks/ on pytest's path)

    return bench


def test_benchmark_measures_a_method_in_a_fresh_process(tmp_path):
    """The memory measurement, in its own process (the time measurement runs the same way; see the test below)."""
    result = load_benchmark().measure("ours", 64, 8, 256, "float32", 1, tmp_path / "ours.pt", None, modes=("memory",))
    assert set(result) == {"peak_mb"} and result["peak_mb"] >= 0
    saved = torch.load(tmp_path / "ours.pt")
    assert saved["grad_weight"].shape == (256, 8) and torch.isfinite(saved["loss"])


def measure_in_this_process(bench):
    def in_this_process(method, n, d, v, dtype, repeats, result_file, torch_chunk_size):
        result = {}
        for mode in ("memory", "time"):
            result.update(bench.run_one(method, n, d, v, dtype, repeats, result_file, mode, torch_chunk_size))
        return result

    return in_this_process


def test_benchmark_reports_every_method(monkeypatch, capsys, tmp_path):
    """The whole script, with each measurement made in this process (the test above runs the fresh-process path)."""
    bench = load_benchmark()
    monkeypatch.setattr(bench, "measure", measure_in_this_process(bench))
    bench.main(["--n", "64", "--d", "8", "--v", "256", "--repeats", "1", "--json"])
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result) == {"naive", "ours", "torch_chunked", "shape"}
    for method in ("naive", "ours", "torch_chunked"):
        assert result[method]["seconds"] > 0 and result[method]["max_rel_diff"] < 1e-5
    assert "ours" in out and "vs naive" in out


def test_uint8_targets_are_class_indices_not_wrapped_ignore_index():
    h, w, b, _ = make(3, 4, 200)
    t = torch.tensor([156, 3, 10], dtype=torch.uint8)  # 156 is -100 wrapped to uint8
    torch.testing.assert_close(ours(h, w, t, reduction="none"), naive(h, w, t.long(), reduction="none"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_without_autograd_only_the_loss_is_computed(reduction):
    h, w, b, t = make(10, 4, 9, ignored=3)
    w.requires_grad_()
    with torch.no_grad():
        loss = ours(h, w, t, b, reduction=reduction, chunk_size=4)
    assert not loss.requires_grad
    torch.testing.assert_close(loss, naive(h, w, t, b, reduction=reduction).detach())


def test_bfloat16_gradients_are_accumulated_in_float32():
    h, w, b, t = make(4096, 16, 64, dtype=torch.float32, seed=1)
    ref = values_and_grads(naive, h.double(), w.double(), b.double(), t, reduction="sum")
    low = values_and_grads(ours, h.bfloat16(), w.bfloat16(), b.bfloat16(), t, reduction="sum", chunk_size=16)
    naive_low = values_and_grads(naive, h.bfloat16(), w.bfloat16(), b.bfloat16(), t, reduction="sum")
    for i in (2, 3):  # weight and bias: summed over 256 chunks
        err = ((low[i].double() - ref[i]).abs().max() / ref[i].abs().max()).item()
        naive_err = ((naive_low[i].double() - ref[i]).abs().max() / ref[i].abs().max()).item()
        assert low[i].dtype == torch.bfloat16 and err <= 2 * naive_err + 1e-2


def test_online_logsumexp_with_positive_infinity_is_infinite_like_torch():
    x = np.array([[1.0, np.inf, 2.0], [np.inf, np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    want = torch.logsumexp(torch.from_numpy(x), dim=1).numpy()
    assert np.array_equal(LV.online_logsumexp(x), want) and np.array_equal(LV.blockwise_logsumexp(x, 2), want)


def test_the_benchmark_writes_its_record_only_when_asked(monkeypatch, capsys, tmp_path):
    """Notebook 09 shows the record; `--record` is the only way the benchmark writes a file."""
    bench = load_benchmark()
    monkeypatch.setattr(bench, "measure", measure_in_this_process(bench))
    monkeypatch.setattr(bench, "RECORD", tmp_path / "recorded" / "large_vocab.json")
    monkeypatch.setattr(bench, "RECORD_SWEEP", {**bench.RECORD_SWEEP, "n": 32, "d": 8, "v": "64,128", "repeats": 2})
    bench.main(["--n", "32", "--d", "8", "--v", "64,128", "--repeats", "1"])
    assert list(tmp_path.iterdir()) == [], "without --record the benchmark must write nothing"
    bench.main(["--record"])
    record = json.loads(bench.RECORD.read_text(encoding="utf-8"))
    assert set(record["results"]) == {"naive", "ours", "torch_chunked", "torch_chunked_256"}
    assert [r["v"] for r in record["results"]["ours"]] == [64, 128]
    assert all(len(r["seconds_runs"]) == 2 for rows in record["results"].values() for r in rows)


def test_the_committed_record_has_what_notebook_09_shows():
    record = LV.recorded_benchmark()
    assert record["shape"] == {"n": 1024, "d": 256, "dtype": "float32", "repeats": 5}, \
        "notebooks/softmax_ce/recorded/large_vocab.json: re-record it with `python benchmarks/large_vocab.py --record`"
    sizes = [[r["v"] for r in rows] for rows in record["results"].values()]
    assert all(s == [2048, 4096, 8192] for s in sizes)
