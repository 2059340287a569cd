"""benchmarks/vocab_parallel.py at a tiny shape (real launches of 1 and 2 gloo ranks), its record file, and the
committed record notebook 11 shows."""

import contextlib
import io
import json
import math
import os
import statistics

import pytest

import vocab_parallel as bench  # benchmarks/vocab_parallel.py (pyproject.toml puts benchmarks/ on pytest's path)
from softmax_ce import parallel

TINY = {"n": 64, "d": 8, "v": 101, "p": "1,2", "chunk_size": 16, "repeats": 1}
RESULT_FIELDS = {"p", "threads", "oversubscribed", "peak_mb_per_rank", "seconds", "seconds_runs", "bytes_sent_forward",
                 "bytes_sent_backward", "collectives_forward", "collectives_backward", "max_rel_diff"}
PER_RANK = ("peak_mb_per_rank", "bytes_sent_forward", "bytes_sent_backward")
ARITHMETIC_FIELDS = {"p", "logits_bytes_one_process", "logits_bytes_per_rank", "logits_bytes_avoided_per_rank",
                     "chunk_logits_bytes_per_rank", "all_reduce_payload_bytes", "ring_all_reduce_bytes_sent",
                     "ring_all_gather_logits_bytes_sent", "grad_hidden_ring_all_reduce_bytes_sent"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One real `--record` run at the tiny shape (4 launches: memory and time for P = 1 and 2), written to a tmp path."""
    path = tmp_path_factory.mktemp("tiny") / "recorded" / "vocab_parallel.json"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setattr(bench, "DEFAULTS", TINY)
        mp.setattr(bench, "RECORD", path)
        record = bench.main(["--record"])
    return {"record": record, "path": path, "stdout": out.getvalue()}


def check_fields(record, shape, ps):
    """Every field notebook 11 shows, with one value per rank where the benchmark keeps one per rank."""
    assert {"command", "shape", "machine", "results", "arithmetic", "notes"} <= set(record)
    assert record["command"] == "python benchmarks/vocab_parallel.py --record"
    assert record["shape"] == shape
    assert {"cpu", "cores", "torch", "python"} <= set(record["machine"])
    assert "time-sharing" in record["notes"]["threads"], "the record must say that P > cores measures time-sharing"
    assert set(record["results"]) == {"unchunked", "chunked"}
    cores = record["machine"]["cores"]
    for method, rows in record["results"].items():
        assert [r["p"] for r in rows] == ps, method
        for r in rows:
            assert RESULT_FIELDS <= set(r), (method, r["p"])
            assert all(len(r[key]) == r["p"] for key in PER_RANK), (method, r["p"])
            assert r["threads"] == max(1, cores // r["p"]) and r["oversubscribed"] == (r["p"] * r["threads"] > cores)
            assert len(r["seconds_runs"]) == shape["repeats"] and all(s > 0 for s in r["seconds_runs"])
            assert math.isclose(r["seconds"], statistics.median(r["seconds_runs"]), rel_tol=1e-3)
            assert all(mb >= 0 for mb in r["peak_mb_per_rank"])
            assert isinstance(r["collectives_forward"], int) and isinstance(r["collectives_backward"], int)
    assert [a["p"] for a in record["arithmetic"]] == ps
    assert all(ARITHMETIC_FIELDS <= set(a) for a in record["arithmetic"])


def floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for x in value.values():
            yield from floats(x)
    elif isinstance(value, list):
        for x in value:
            yield from floats(x)


def test_the_record_has_every_field_the_notebook_needs(tiny):
    shape = {"n": 64, "d": 8, "v": 101, "dtype": "float32", "repeats": 1, "chunk_size": 16}
    written = json.loads(tiny["path"].read_text(encoding="utf-8"))
    assert written == tiny["record"]
    check_fields(written, shape, [1, 2])
    assert all(float(f"{x:.4g}") == x for x in floats(written)), "floats are kept to 4 significant digits"
    assert tiny["path"].read_text(encoding="utf-8") == json.dumps(written, indent=1, sort_keys=True) + "\n"


def test_every_rank_agrees_with_one_process(tiny):
    for method, rows in tiny["record"]["results"].items():
        for r in rows:
            assert r["max_rel_diff"] < 1e-5, (method, r["p"], r["max_rel_diff"])


def test_three_all_reduces_per_chunk_forward_and_one_backward(tiny):
    """Forward merges (max, Σ exp, Σ q z) per chunk; backward all-reduces ∂L/∂H (the loss itself needs none)."""
    chunks = {"unchunked": 1, "chunked": math.ceil(TINY["n"] / TINY["chunk_size"])}
    for method, rows in tiny["record"]["results"].items():
        for r in rows:
            assert r["collectives_forward"] == 3 * chunks[method], (method, r["p"])
            assert r["collectives_backward"] == 1, (method, r["p"])


def test_one_rank_sends_nothing_and_two_send_at_least_the_ring_bytes(tiny):
    ring = {a["p"]: a for a in tiny["record"]["arithmetic"]}
    for method, rows in tiny["record"]["results"].items():
        one, two = rows
        assert one["bytes_sent_forward"] == [0] and one["bytes_sent_backward"] == [0], method
        assert all(b >= ring[2]["ring_all_reduce_bytes_sent"] for b in two["bytes_sent_forward"]), method
        assert all(b >= ring[2]["grad_hidden_ring_all_reduce_bytes_sent"] for b in two["bytes_sent_backward"]), method


def test_the_arithmetic():
    a = {r["p"]: r for r in bench.arithmetic(4096, 256, 32768, [1, 2, 4], 256)}
    assert a[1]["logits_bytes_per_rank"] == a[1]["logits_bytes_one_process"] == 4096 * 32768 * 4  # 512 MiB
    assert a[4]["logits_bytes_per_rank"] == 4096 * 8192 * 4 and a[4]["logits_bytes_avoided_per_rank"] == 4096 * 24576 * 4
    assert a[2]["all_reduce_payload_bytes"] == 3 * 4096 * 4 and a[1]["ring_all_reduce_bytes_sent"] == 0
    assert a[4]["ring_all_reduce_bytes_sent"] == 3 * parallel.ring_all_reduce_bytes(4096, 4, 4)
    assert a[4]["ring_all_gather_logits_bytes_sent"] == parallel.ring_all_gather_bytes(4096 * 32768, 4, 4)
    odd = bench.arithmetic(10, 2, 101, [4], 256)[0]  # ⌈101/4⌉ = 26 classes on the largest shard
    assert odd["logits_bytes_per_rank"] == 10 * 26 * 4 and odd["chunk_logits_bytes_per_rank"] == 10 * 26 * 4


def test_the_table_is_printed(tiny):
    out = tiny["stdout"]
    assert "unchunked" in out and "chunked" in out and "arithmetic" in out and "max rel. diff" in out
    assert "recorded in" in out


def test_without_record_nothing_is_written(tiny, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "sweep", lambda args: tiny["record"]["results"])
    monkeypatch.setattr(bench, "RECORD", tmp_path / "recorded" / "vocab_parallel.json")
    bench.main(["--n", "64", "--d", "8", "--v", "101", "--p", "1,2", "--chunk-size", "16", "--repeats", "1", "--json"])
    assert list(tmp_path.iterdir()) == [], "without --record the benchmark must write nothing"
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["results"] == tiny["record"]["results"]


def old_record(monkeypatch, tmp_path):
    path = tmp_path / "vocab_parallel.json"
    path.write_text('{"old": true}\n', encoding="utf-8")
    monkeypatch.setattr(bench, "DEFAULTS", TINY)
    monkeypatch.setattr(bench, "RECORD", path)
    return path


def test_a_failed_measurement_leaves_the_previous_record(monkeypatch, tmp_path):
    path = old_record(monkeypatch, tmp_path)

    def fails(args):  # as launch fails when a rank raises (RankFailed is a RuntimeError)
        raise RuntimeError("rank 1 of 2 failed: ValueError: boom")

    monkeypatch.setattr(bench, "sweep", fails)
    with pytest.raises(RuntimeError, match="rank 1 of 2 failed"):
        bench.main(["--record"])
    assert path.read_text(encoding="utf-8") == '{"old": true}\n' and list(tmp_path.iterdir()) == [path]


def test_a_wrong_loss_is_not_recorded(tiny, monkeypatch, tmp_path, capsys):
    path = old_record(monkeypatch, tmp_path)
    results = json.loads(json.dumps(tiny["record"]["results"]))
    results["chunked"][1]["max_rel_diff"] = 0.5
    monkeypatch.setattr(bench, "sweep", lambda args: results)
    with pytest.raises(SystemExit, match="not recorded.*chunked P=2"):
        bench.main(["--record"])
    assert path.read_text(encoding="utf-8") == '{"old": true}\n' and list(tmp_path.iterdir()) == [path]


def test_record_refuses_another_shape(monkeypatch, tmp_path, capsys):
    path = old_record(monkeypatch, tmp_path)
    with pytest.raises(SystemExit):
        bench.main(["--record", "--n", "32"])
    assert "leave out --n" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == '{"old": true}\n'


def test_writing_the_record_is_atomic(tmp_path, monkeypatch):
    """A write that fails half-way leaves the old file and no temporary file; one that succeeds touches nothing else."""
    path = tmp_path / "vocab_parallel.json"
    path.write_text('{"old": true}\n', encoding="utf-8")

    def broken_fsync(fd):
        raise OSError("disk full")

    with monkeypatch.context() as mp:
        mp.setattr(os, "fsync", broken_fsync)
        with pytest.raises(OSError, match="disk full"):
            bench.write_record({"new": 1}, path)
    assert path.read_text(encoding="utf-8") == '{"old": true}\n' and list(tmp_path.iterdir()) == [path]
    with monkeypatch.context() as mp:
        mp.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("no rename")))
        with pytest.raises(OSError, match="no rename"):
            bench.write_record({"new": 1}, path)
    assert path.read_text(encoding="utf-8") == '{"old": true}\n' and list(tmp_path.iterdir()) == [path]
    bench.write_record({"b": 1, "a": [1.5]}, path)
    assert path.read_text(encoding="utf-8") == '{\n "a": [\n  1.5\n ],\n "b": 1\n}\n'
    assert list(tmp_path.iterdir()) == [path] and path.stat().st_mode & 0o777 == 0o644


def test_the_committed_record_matches_the_benchmarks_defaults():
    """Notebook 11 shows this file; its shape must be what `python benchmarks/vocab_parallel.py --record` measures."""
    record = parallel.recorded_benchmark()
    d = bench.DEFAULTS
    shape = {"n": d["n"], "d": d["d"], "v": d["v"], "dtype": "float32", "repeats": d["repeats"], "chunk_size": d["chunk_size"]}
    hint = "notebooks/softmax_ce/recorded/vocab_parallel.json: re-record it with `python benchmarks/vocab_parallel.py --record`"
    assert record["shape"] == shape, hint
    check_fields(record, shape, bench.parse_ps(d["p"]))
    for method, rows in record["results"].items():
        assert all(r["max_rel_diff"] <= bench.MAX_REL_DIFF for r in rows), method
