"""benchmarks/sampled_softmax.py at a tiny shape (a real run in a subprocess, --json), its numbers against a direct
computation with the package, its record file, and the committed record. No assertion on a time: only on its form."""

import json
import math
import pathlib
import statistics
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sampled_softmax as bench  # benchmarks/sampled_softmax.py (pyproject.toml puts benchmarks/ on pytest's path)
from softmax_ce import sampled as SS

SCRIPT = pathlib.Path(bench.__file__)
TINY = {"n": 64, "d": 8, "v": 500, "samples": "4,64", "draws": 5, "repeats": 2, "seed": 3, "peaked": False, "threads": 1}
TINY_ARGV = [f"--{k}={v}" for k, v in TINY.items() if k != "peaked"]
RECORD_KEYS = {"command", "shape", "problem", "machine", "load_average", "notes", "timing", "bias"}
BIAS_KEYS = {"n_samples", "log_q_correction", "loss_gap", "loss_gap_se", "loss_gap_offset", "loss_gap_offset_se",
             "grad_input_error", "grad_input_error_se", "grad_weight_error", "grad_weight_error_se",
             "grad_input_error_of_mean", "grad_input_error_of_mean_noise", "grad_input_bias",
             "grad_weight_error_of_mean", "grad_weight_error_of_mean_noise", "grad_weight_bias"}
RERECORD = "re-record it with `python benchmarks/sampled_softmax.py --record`"


def shape_of(d):
    return {"n": d["n"], "d": d["d"], "v": d["v"], "samples": bench.parse_sizes(d["samples"]), "draws": d["draws"],
            "repeats": d["repeats"], "seed": d["seed"], "peaked": d["peaked"], "threads": d["threads"],
            "dtype_time": "float32", "dtype_bias": "float64"}


@pytest.fixture(scope="module")
def tiny():
    """One real run of the script in its own process at the tiny shape, with --json: (the record, the stdout)."""
    out = subprocess.run([sys.executable, str(SCRIPT), *TINY_ARGV, "--json"], capture_output=True, text=True,
                         timeout=600, cwd=SCRIPT.parent.parent)
    assert out.returncode == 0, f"rule: the benchmark runs at a tiny shape; fix the error it printed:\n{out.stderr}"
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stdout


def floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for x in value.values():
            yield from floats(x)
    elif isinstance(value, list):
        for x in value:
            yield from floats(x)


def check_record(record, d):
    """Every field a reader needs, one timing row per S and two bias rows per S (with and without log-Q)."""
    sizes = bench.parse_sizes(d["samples"])
    assert RECORD_KEYS <= set(record), f"rule: the record holds {sorted(RECORD_KEYS)}; fix build_record (missing " \
                                       f"{sorted(RECORD_KEYS - set(record))})"
    assert record["command"] == bench.COMMAND
    assert record["shape"] == shape_of(d), "rule: the record's shape is the run's arguments; fix build_record"
    assert {"cpu", "cores", "torch", "python"} <= set(record["machine"]), "rule: the machine comes from large_vocab.machine()"
    assert "log-uniform" in record["problem"] and "seed" in record["problem"], "rule: the record says how the problem is made"
    timed = record["timing"]
    assert [r["n_samples"] for r in timed["sampled"]] == sizes, "rule: one timing row per S, in the order given"
    for r in [timed["full"], *timed["sampled"]]:
        assert len(r["seconds_runs"]) == d["repeats"] and all(x > 0 for x in r["seconds_runs"]), \
            "rule: every timed round is kept (seconds_runs, --repeats of them); fix timing()"
        assert math.isclose(r["seconds"], statistics.median(r["seconds_runs"]), rel_tol=2e-3), \
            "rule: seconds is the median of seconds_runs; fix timing()"
    for r in timed["sampled"]:
        assert math.isclose(r["vs_full"], r["seconds"] / timed["full"]["seconds"], rel_tol=2e-3), \
            "rule: vs_full = sampled median / full median; fix timing()"
    assert [(r["n_samples"], r["log_q_correction"]) for r in record["bias"]] == [(s, c) for s in sizes for c in (True, False)], \
        "rule: two bias rows per S, with then without the log-Q correction; fix bias()"
    for r in record["bias"]:
        assert set(r) == BIAS_KEYS, f"rule: each bias row has the fields of sampled_softmax_bias; got {sorted(set(r) ^ BIAS_KEYS)}"
    assert all(float(f"{x:.4g}") == x for x in floats(record)), "rule: floats keep 4 significant digits; fix rounded()"


def test_the_tiny_run_has_every_field_and_prints_its_tables(tiny):
    record, stdout = tiny
    check_record(record, TINY)
    for words in ("full softmax", "vs full", "loss gap", "dH bias", "dW bias"):
        assert words in stdout, f"rule: the printed tables name every column; {words!r} is missing: fix print_table"


def test_the_bias_numbers_are_sampled_softmax_bias_at_the_same_seed(tiny):
    """The script's bias rows are the package's function called with the same arguments (to 4 significant digits)."""
    record, _ = tiny
    direct = SS.sampled_softmax_bias(n=TINY["n"], d=TINY["d"], v=TINY["v"], n_samples_list=(4, 64), repeats=TINY["draws"],
                                     seed=TINY["seed"])
    assert len(direct) == len(record["bias"])
    for got, want in zip(record["bias"], direct):
        for key, value in want.items():
            assert math.isclose(got[key], value, rel_tol=1e-3, abs_tol=1e-12), \
                f"rule: the record's {key} at S={want['n_samples']} (log-Q {want['log_q_correction']}) is " \
                f"sampled_softmax_bias's; got {got[key]}, want {value}: fix bias() or the seed it passes"


def test_the_bias_rows_agree_with_the_draws_written_out(tiny):
    """Re-draw the same problem and ids from the seed and compute every number from the draws' losses and gradients:
    the mean ± standard error of the loss gaps; the mean gradient's error, its noise √(Σ var / R) and the bias
    √(error² − noise²), all relative to ‖g_full‖."""
    record, _ = tiny
    n, d, v, draws = TINY["n"], TINY["d"], TINY["v"], TINY["draws"]
    rng = np.random.default_rng(TINY["seed"])
    h, w, b, t = SS.toy_problem(n, d, v, rng)
    h.requires_grad_()
    w.requires_grad_()
    full = F.cross_entropy(F.linear(h, w, b), t)
    exact = torch.autograd.grad(full, (h, w))
    rows = iter(record["bias"])
    for s in bench.parse_sizes(TINY["samples"]):
        ids_list = [SS.log_uniform_candidates(v, s, rng)[0] for _ in range(draws)]
        for corrected in (True, False):
            row = next(rows)
            gaps, grads = [], []
            for ids in ids_list:
                loss = SS.sampled_softmax_loss(h, w, t, ids, b, linear_bias=b, subtract_log_q=corrected)
                gaps.append((loss - full).item())
                grads.append(torch.autograd.grad(loss, (h, w)))
            want = {"loss_gap": np.mean(gaps), "loss_gap_se": np.std(gaps, ddof=1) / math.sqrt(draws)}
            for i, part in enumerate(("input", "weight")):
                g = torch.stack([x[i] for x in grads])
                norm = torch.linalg.norm(exact[i])
                error = torch.linalg.norm(g.mean(0) - exact[i]) / norm
                noise = torch.sqrt(g.var(0, unbiased=True).sum() / draws) / norm
                want[f"grad_{part}_error_of_mean"] = error.item()
                want[f"grad_{part}_error_of_mean_noise"] = noise.item()
                want[f"grad_{part}_bias"] = math.sqrt(max(error.item() ** 2 - noise.item() ** 2, 0.0))
            for key, value in want.items():
                assert math.isclose(row[key], value, rel_tol=2e-3, abs_tol=1e-9), \
                    f"rule: {key} at S={s} (log-Q {corrected}) follows from the draws; got {row[key]}, want {value}: " \
                    "fix sampled_softmax_bias / _error_of_mean"


def test_record_writes_the_file_and_without_record_nothing_is_written(monkeypatch, tmp_path, capsys):
    path = tmp_path / "recorded" / "sampled_softmax.json"
    monkeypatch.setattr(bench, "RECORD", path)
    threads = torch.get_num_threads()
    record = bench.main([*TINY_ARGV, "--threads=2"])
    assert not path.parent.exists(), "rule: without --record the benchmark writes nothing; fix main()"
    assert torch.get_num_threads() == threads, "rule: main() gives the caller its torch threads back; fix torch_threads"
    assert record["shape"]["threads"] == record["machine"]["torch_threads"] == 2, "rule: the record names its threads"
    record = bench.main(TINY_ARGV)
    monkeypatch.setattr(bench, "DEFAULTS", TINY)
    again = bench.main(["--record"])
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == again and path.read_text(encoding="utf-8") == json.dumps(written, indent=1, sort_keys=True) + "\n", \
        "rule: --record writes what it measured, indented and key-sorted; fix main() / write_record"
    check_record(written, TINY)
    assert written["bias"] == record["bias"], "rule: the bias numbers are reproducible from the seed; fix the seeding"
    assert "recorded in" in capsys.readouterr().out


def test_record_refuses_another_shape_and_bad_arguments_are_named(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "RECORD", tmp_path / "sampled_softmax.json")
    for argv, words in ((["--record", "--n", "32"], "leave out --n"),
                        (["--samples", "4,x"], "--samples must be a sample size or a comma-separated list"),
                        (["--samples", "4,0"], "every sample size must be at least 1"),
                        (["--draws", "1"], "--draws must be at least 2"),
                        (["--repeats", "0"], "--repeats must be at least 1")):
        with pytest.raises(SystemExit):
            bench.main(argv)
        err = capsys.readouterr().err
        assert words in err, f"rule: {argv} is refused with a message saying {words!r}; got {err!r}: fix main()"
    assert not any(tmp_path.iterdir()), "rule: a refused run writes nothing"


def test_the_committed_record_matches_the_defaults_and_shows_the_log_q_correction_at_work():
    """The record ``sampled.recorded_benchmark`` reads is the defaults' run; with the log-Q correction the mean
    gradient's bias falls as S grows, and without it, at the largest S, it stays several times larger."""
    record = SS.recorded_benchmark()
    assert record["shape"] == shape_of(bench.DEFAULTS), f"notebooks/softmax_ce/recorded/sampled_softmax.json: {RERECORD}"
    check_record(record, bench.DEFAULTS)
    rows = {(r["n_samples"], r["log_q_correction"]): r for r in record["bias"]}
    sizes = bench.parse_sizes(bench.DEFAULTS["samples"])
    small, large = min(sizes), max(sizes)
    for part in ("input", "weight"):
        key = f"grad_{part}_error_of_mean"
        assert rows[(large, True)][key] < rows[(small, True)][key], \
            f"rule: with log-Q the mean gradient's error falls from S={small} to S={large}; {RERECORD}"
        assert rows[(large, False)][key] > 3 * rows[(large, True)][key], \
            f"rule: without log-Q the mean gradient stays biased at S={large}; {RERECORD}"
