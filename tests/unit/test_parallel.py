"""The vocabulary-parallel cross-entropy (softmax_ce.parallel) against torch, in real processes: values, gradients,
collectives, bytes, torch's loss_parallel, failing and hanging ranks, bad input; and its NumPy algorithm.

Every rank is a fresh interpreter that imports torch (about 4 s of CPU; 2 cores), so the file has five launches
of 13 ranks in all:
1. 4 ranks run every case for P = 1, 2, 3, 4 (``compare_with_single_process`` puts each P in a subgroup), the
   repeated backward, the step without ∂L/∂H, and every bad input, each rank catching its own error (a module
   fixture: the tests read its records);
2. 3 ranks compare with torch's loss_parallel (P = 3), then rank 1 raises;
3. 2 ranks compare with loss_parallel (P = 2), then rank 1 is killed;
   (``compare_with_loss_parallel`` runs on the whole world, so each P needs a launch of its own: these two have
   the right sizes, and the results reach the tests through files written before the failure);
4. a hang; 5. a bad input that every rank reports through ``RankFailed``.
The rank functions that softmax_ce.parallel does not have are in tests/parallel_ranks.py (a spawned rank imports it
by name: it starts with this process's sys.path, where pyproject.toml puts tests/).
"""

import math
import multiprocessing
import multiprocessing.context
import os
import pathlib
import re
import socket
import sys
import threading
import time
import types

import numpy as np
import pytest
import torch
import torch.distributed as dist
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import parallel_ranks as R  # tests/parallel_ranks.py
from softmax_ce import parallel as P

WORLD_SIZES = [1, 2, 3, 4]
F32, F64 = torch.float32, torch.float64
TOLERANCE = {F32: 1e-6, F64: 1e-12}  # largest difference relative to the largest magnitude of torch's tensor

# Every V is uneven for P = 2, 3, 4 (11 → 6+5, 4+4+3, 3+3+3+2; 1001 → 501+500, 334+334+333, 251+250+250+250).
CASES = {
    "mean, chunks of 4 for 13 rows": {"n": 13, "d": 5, "v": 11, "options": {"chunk_size": 4}},
    "sum, bias, chunk 1": {"n": 7, "d": 5, "v": 11, "bias": True, "options": {"reduction": "sum", "chunk_size": 1}},
    "none, bias, chunk 64 > 9 rows": {"n": 9, "d": 5, "v": 11, "bias": True,
                                      "options": {"reduction": "none", "chunk_size": 64}},
    "mean, V=1001, bias, 5 ignored, smoothing 0.1, chunks of 24": {
        "n": 50, "d": 16, "v": 1001, "bias": True, "ignored": 5, "options": {"label_smoothing": 0.1, "chunk_size": 24}},
    "sum, V=1001, 4 ignored, no chunking": {"n": 20, "d": 16, "v": 1001, "ignored": 4, "options": {"reduction": "sum"}},
    "none, 3 ignored, smoothing 0.2, chunks of 5": {
        "n": 12, "d": 5, "v": 11, "ignored": 3, "options": {"reduction": "none", "label_smoothing": 0.2, "chunk_size": 5}},
    "mean, every row ignored (nan), bias": {"n": 6, "d": 5, "v": 11, "bias": True, "ignored": 6,
                                            "options": {"chunk_size": 4}},
    "sum, every row ignored, smoothing 0.1": {"n": 6, "d": 5, "v": 11, "ignored": 6,
                                              "options": {"reduction": "sum", "label_smoothing": 0.1, "chunk_size": 4}},
    "mean, ignore_index=3 (a class), smoothing 0.1, chunks of 4": {
        "n": 15, "d": 5, "v": 11, "options": {"ignore_index": 3, "label_smoothing": 0.1, "chunk_size": 4}},
    "mean, 4096 rows in chunks of 2048 (16 KB per collective)": {"n": 4096, "d": 8, "v": 11,
                                                                 "options": {"chunk_size": 2048}},
    "float32, mean, V=1001, bias, 3 ignored, smoothing 0.05, chunks of 7": {
        "n": 40, "d": 16, "v": 1001, "dtype": F32, "bias": True, "ignored": 3,
        "options": {"label_smoothing": 0.05, "chunk_size": 7}},
    "float32, none, bias, chunks of 4": {"n": 13, "d": 5, "v": 11, "dtype": F32, "bias": True,
                                         "options": {"reduction": "none", "chunk_size": 4}},
    "float32, sum, V=1001, no chunking": {"n": 30, "d": 16, "v": 1001, "dtype": F32, "options": {"reduction": "sum"}},
    "float32, mean, 4096 rows, no chunking (16 KB per collective)": {"n": 4096, "d": 8, "v": 11, "dtype": F32,
                                                                     "options": {}},
}
NAMES = list(CASES)
NAN_LOSS = "mean, every row ignored (nan), bias"  # torch's mean over no rows is nan: no difference to take
REPEATED = "mean, V=1001, bias, 5 ignored, smoothing 0.1, chunks of 24"  # the backward's two paths, both chunked

# Each bad call runs in every rank of launch 1; every rank must raise a ValueError naming the problem before any
# collective (a last all-reduce checks that the ranks are still in step). V = 10 over 4 ranks is 3+3+2+2.
BAD_INPUT = {
    "target out of range": (R.rank_loss_with_target, (4, 3, 10, [0, 10, 2, 3]),
                            "target 10 is out of range for 10 classes"),
    "negative target": (R.rank_loss_with_target, (4, 3, 10, [0, -1, 2, 3]), "target -1 is out of range for 10 classes"),
    "shard sizes not adding up to V": (P.rank_loss, (4, 3, 10, None, [3, 3, 3, 3]),
                                       r"shard_sizes \[3, 3, 3, 3\] add up to 12, not to the vocabulary size V=10"),
    "one shard size per rank": (P.rank_loss, (4, 3, 10, None, [5, 5]), "shard_sizes has 2 entries for 4 ranks"),
    "an empty shard": (P.rank_loss, (4, 3, 10, None, [4, 3, 3, 0]), "shard_sizes must give every rank at least 1 class"),
    "more ranks than classes (P=4, V=3)": (P.rank_loss, (4, 3, 3), "cannot split V=3 classes over P=4 ranks"),
    "every rank holding the whole weight": (R.full_weight_in_every_rank, (4, 3, 10),
                                            r"holds 10 rows of the weight, but its shard of V=10 is classes \d+\.\.\d+"),
    "unknown reduction": (P.rank_loss, (4, 3, 10, {"reduction": "avg"}), "unknown reduction 'avg'"),
    "label smoothing above 1": (P.rank_loss, (4, 3, 10, {"label_smoothing": 1.5}), r"label_smoothing must be in \[0, 1\]"),
    "chunk size 0": (P.rank_loss, (4, 3, 10, {"chunk_size": 0}), "chunk_size must be an int >= 1"),
}

MAIN_CALLS = [  # launch 1: (name, function, arguments), run in this order by every rank
    ("single", P.compare_with_single_process, (list(CASES.values()), WORLD_SIZES)),
    ("repeated", R.repeated_backward, (CASES[REPEATED], WORLD_SIZES)),
    ("without input grad", R.without_input_grad, (CASES[REPEATED], WORLD_SIZES)),
    ("nan loss", R.loss_values, (CASES[NAN_LOSS], WORLD_SIZES)),
    ("bad input", R.errors_of, ([(name, fn, args) for name, (fn, args, _) in BAD_INPUT.items()]
                                + [("outside the group", R.outside_the_group, (4, 3, 10))],)),
]


# ----------------------------------------------------------------------------- watching what a launch leaves behind


def watch_launches(monkeypatch):
    """Record the PID of every process launch starts and the port of the store it opens."""
    watch = types.SimpleNamespace(pids=[], ports=[])
    start, store = multiprocessing.context.SpawnProcess.start, dist.TCPStore

    def recording_start(self):
        start(self)
        watch.pids.append(self.pid)

    def recording_store(*args, **kwargs):
        made = store(*args, **kwargs)
        watch.ports.append(made.port)  # the port only: a reference to the store would keep it open
        return made

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", recording_start)
    monkeypatch.setattr(dist, "TCPStore", recording_store)
    return watch


@pytest.fixture
def watch(monkeypatch):
    return watch_launches(monkeypatch)


def still_ours(pid):
    """Whether ``pid`` is still a process of ours (running, or a zombie nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a PID the system gave to someone else since is not ours: its parent differs
        return int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except FileNotFoundError:
        return not pathlib.Path("/proc/self").exists()
    except OSError:
        return True


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return False
    return True


def assert_nothing_left(watch, what):
    assert watch.pids and watch.ports, f"{what}: the test saw no rank start (it watches SpawnProcess.start and TCPStore)"
    ranks = [p for p in multiprocessing.active_children() if p.name.startswith("softmax-ce-rank-")]
    assert not ranks, f"{what}: launch left {ranks} among this process's children (rule: no process is left running)"
    alive = [pid for pid in watch.pids if still_ours(pid)]
    assert not alive, (f"{what}: launch left the rank processes {alive} running or unreaped (rule: launch stops and joins "
                       f"every rank, on success and on failure)")
    open_ports = [port for port in watch.ports if port_open(port)]
    assert not open_ports, f"{what}: port {open_ports} of the launch's store still accepts connections (rule: it is closed)"


# ----------------------------------------------------------------------------- launch 1: every case, every P


@pytest.fixture(scope="module")
def main():
    """Launch 1, and what it left behind; results by call name, each a list over the 4 ranks."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        watch = watch_launches(monkeypatch)
        per_rank = P.launch(P.run_each, 4, [(fn, args) for _, fn, args in MAIN_CALLS], timeout=240)
        left = types.SimpleNamespace(pids=list(watch.pids), ports=list(watch.ports))
    results = {name: [rank_results[i] for rank_results in per_rank] for i, (name, _, _) in enumerate(MAIN_CALLS)}
    results["left"] = left
    return results


def records(main, call="single"):
    """Every rank's records of one call, flattened."""
    return [r for rank_records in main[call] for r in rank_records]


def one_per_rank_of_every_p(main, call):
    """The records of a call that runs once per rank of every P (a list of sum(WORLD_SIZES) records)."""
    got = records(main, call)
    assert len(got) == sum(WORLD_SIZES), f"expected one record per rank of every P, got {len(got)}"
    return got


def case_records(main, name):
    index = NAMES.index(name)
    return [r for r in records(main) if r["case"] == index]


def dtype_name(case):
    return str(case.get("dtype", F64)).removeprefix("torch.")


def chunk_rows(case):
    n, chunk = case["n"], case["options"].get("chunk_size") or case["n"]
    return [min(chunk, n - start) for start in range(0, n, chunk)]


def test_every_case_ran_on_every_rank_of_every_world_size_with_its_shard(main):
    for name, case in CASES.items():
        got = sorted((r["world_size"], r["rank"], r["shard"]) for r in case_records(main, name))
        want = [(p, rank, P.shard_ranges(case["v"], p)[rank]) for p in WORLD_SIZES for rank in range(p)]
        assert got == want, (f"case {name!r}: compare_with_single_process gave records (P, rank, shard) {got}, expected "
                             f"one per rank of every P in {WORLD_SIZES} with its shard_ranges: {want}")


@pytest.mark.parametrize("name", [n for n in NAMES if n != NAN_LOSS])
def test_the_loss_equals_single_process_cross_entropy(main, name):
    case = CASES[name]
    tol = TOLERANCE[case.get("dtype", F64)]
    for r in case_records(main, name):
        assert r["loss"] <= tol, (f"vocab-parallel loss for P={r['world_size']} (rank {r['rank']}) differs from "
                                  f"F.cross_entropy(F.linear(h, W, b), t) by {r['loss']:.1e} > {tol:g} "
                                  f"({dtype_name(case)}): case {name!r}")


@pytest.mark.parametrize("name", NAMES)
def test_the_gradients_equal_single_process_cross_entropy(main, name):
    case = CASES[name]
    tol = TOLERANCE[case.get("dtype", F64)]
    for r in case_records(main, name):
        grads = {"hidden states H": r["grad_input"], "rank's weight shard": r["grad_weight"]}
        if case.get("bias"):
            grads["rank's bias shard"] = r["grad_bias"]
        else:
            assert r["grad_bias"] is None, f"case {name!r} has no bias, yet rank {r['rank']} reports a bias gradient"
        for what, diff in grads.items():
            assert diff <= tol, (f"vocab-parallel gradient of the {what} for P={r['world_size']} (rank {r['rank']}, "
                                 f"classes {r['shard'][0]}..{r['shard'][1] - 1}) differs from F.cross_entropy's by "
                                 f"{diff:.1e} > {tol:g} ({dtype_name(case)}): case {name!r}")


def test_a_mean_over_no_rows_is_nan_like_torch_and_its_gradients_are_zero(main):
    got = one_per_rank_of_every_p(main, "nan loss")
    for r in got:
        assert torch.isnan(r["reference"]), "torch's mean over rows that are all ignored should be nan: the case is wrong"
        assert torch.isnan(r["loss"]), (f"vocab-parallel mean loss over rows that are all ignored is {r['loss'].item()} "
                                        f"for P={r['world_size']}; F.cross_entropy gives nan (rule: as torch)")
        assert r["largest_gradient"] == 0 == r["largest_reference_gradient"], (
            f"with every row ignored the gradients must be zero (as torch's); P={r['world_size']} rank {r['rank']} has "
            f"one of magnitude {r['largest_gradient']:g}")


def test_a_second_backward_gives_the_same_gradients_and_grad_output_scales_them(main):
    got = one_per_rank_of_every_p(main, "repeated")
    for r in got:
        where = f"P={r['world_size']}, rank {r['rank']}, case {REPEATED!r}"
        assert set(r["first"]) == {"h", "w", "b"}, f"{where}: expected the gradients of h, W and b, got {set(r['first'])}"
        for leaf, diff in r["first"].items():
            assert diff <= 1e-12, f"{where}: gradient of {leaf} differs from F.cross_entropy's by {diff:.1e} > 1e-12"
        for leaf, diff in r["second_minus_first"].items():
            assert diff == 0, (f"{where}: a second backward through the same graph (retain_graph=True) gives a gradient "
                               f"of {leaf} that differs from the first by {diff:.1e} (rule: the same gradients)")
        for leaf, diff in r["tripled"].items():
            assert diff <= 1e-12, (f"{where}: the gradient of {leaf} of loss × 3 differs from 3 × F.cross_entropy's by "
                                   f"{diff:.1e} > 1e-12 (rule: a non-unit grad_output scales the gradients)")


def expected_forward(case):
    size = torch.tensor([], dtype=case.get("dtype", F64)).element_size()
    return [("all_reduce", op, rows, rows * size) for rows in chunk_rows(case) for op in ("max", "sum", "sum")]


def expected_backward(case):
    size = torch.tensor([], dtype=case.get("dtype", F64)).element_size()
    return [("all_reduce", "sum", case["n"] * case["d"], case["n"] * case["d"] * size)]


@pytest.mark.parametrize("name", NAMES)
def test_forward_merges_three_numbers_per_row_per_chunk_and_backward_reduces_only_the_hidden_gradient(main, name):
    """Per chunk of c rows: all-reduces of c numbers (MAX of the row maxima, SUM of Σ exp, SUM of Σ q z); backward:
    the loss needs none, the hidden states' gradient one of N × D (∂L/∂H = Σ_r G_r W_r sums every shard's)."""
    case = CASES[name]
    for r in case_records(main, name):
        where = f"case {name!r}, P={r['world_size']}, rank {r['rank']}"
        forward, backward = r["collectives"]["forward"], r["collectives"]["backward"]
        assert forward == expected_forward(case), (
            f"{where}: the forward pass called {forward}; expected exactly 3 all-reduces (max, sum, sum) per chunk, of "
            f"as many numbers as the chunk has rows {chunk_rows(case)}")
        assert backward == expected_backward(case), (
            f"{where}: the backward pass called {backward}; expected exactly one all-reduce (sum) of the N × D = "
            f"{case['n']} × {case['d']} hidden states' gradient")


def test_without_the_hidden_states_gradient_backward_communicates_nothing(main):
    case = CASES[REPEATED]
    got = one_per_rank_of_every_p(main, "without input grad")
    for r in got:
        where = f"P={r['world_size']}, rank {r['rank']}, H without requires_grad, case {REPEATED!r}"
        calls = r["collectives"]
        assert calls["backward"] == [], (f"{where}: backward called {calls['backward']}; the loss's backward needs no "
                                         "communication, and ∂L/∂H is not asked for (rule: 0 collectives)")
        for phase in ("forward", "no_grad"):
            assert calls[phase] == expected_forward(case), (
                f"{where}: {phase} called {calls[phase]}; expected 3 all-reduces per chunk {chunk_rows(case)}")
        assert r["grad_input"] is None, f"{where}: H got a gradient although it does not require one"
        assert not r["no_grad_requires_grad"], f"{where}: the loss computed under torch.no_grad() requires grad"
        for what in ("loss", "loss_no_grad", "grad_weight", "grad_bias"):
            assert r[what] <= 1e-12, f"{where}: {what} differs from F.cross_entropy's by {r[what]:.1e} > 1e-12"


def test_bytes_sent_are_the_ring_all_reduce_bytes_plus_message_headers(main):
    """/proc/self/io's wchar counts every byte the rank wrote to its sockets; gloo's ring all-reduce sends
    2 (P − 1) / P of the tensor, plus a header of about 48 bytes per message (so only a large payload compares)."""
    if not os.path.exists("/proc/self/io"):
        pytest.skip("no /proc/self/io here (not Linux): bytes_sent() measures nothing")
    compared = set()
    for r in records(main):
        name, p = NAMES[r["case"]], r["world_size"]
        for phase, sent in r["bytes_sent"].items():
            calls = r["collectives"][phase]
            where = f"case {name!r}, P={p}, rank {r['rank']}, {phase}"
            assert sent is not None, f"{where}: bytes_sent() measured nothing although /proc/self/io exists"
            if p == 1:
                assert sent == 0, f"{where}: one rank wrote {sent} bytes; with P = 1 nothing is sent (rule: 0)"
                continue
            if not calls or min(c[3] for c in calls) < 16 * 1024:
                continue
            ring = sum(P.ring_all_reduce_bytes(numel, p, size // numel) for _, _, numel, size in calls)
            assert ring <= sent <= 1.15 * ring, (
                f"{where}: the rank wrote {sent} bytes for {len(calls)} all-reduces whose ring cost is {ring} bytes "
                f"(ratio {sent / ring:.3f}; rule: between 1.0 and 1.15, the excess being gloo's message headers)")
            compared.add((p, phase))
    want = {(p, phase) for p in (2, 3, 4) for phase in ("forward", "backward")}
    assert compared >= want, (f"no case with 16 KB per collective for {sorted(want - compared)}: the test compared "
                              "nothing there; keep the 4096-row cases in CASES")


def test_launch_leaves_no_process_and_no_open_port_after_success(main):
    assert_nothing_left(main["left"], "after a successful launch of 4 ranks")


# ----------------------------------------------------------------------------- loss_parallel (torch's DTensor version)


LOSS_PARALLEL = {3: [10, 9], 2: [10]}  # P: the V compared (P = 3, V = 10: DTensor's 4+4+2; V = 9 and P = 2: even)


def loss_parallel_calls(world_size):
    return [(P.compare_with_loss_parallel, (12, 6, v)) for v in LOSS_PARALLEL[world_size]]


def saved_results(out_dir, world_size):
    files = [out_dir / f"rank{rank}.pt" for rank in range(world_size)]
    missing = [f.name for f in files if not f.exists()]
    assert not missing, f"the ranks did not save their loss_parallel results ({missing}): see the launch's error above"
    return [torch.load(f, weights_only=False) for f in files]


def failed_launch(tmp_path_factory, world_size, then, then_args, timeout=60):
    """One launch whose ranks compare with loss_parallel, save that, then fail (``then``); what the test needs."""
    out = tmp_path_factory.mktemp(f"ranks{world_size}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        watch = watch_launches(monkeypatch)
        started = time.time()
        with pytest.raises((P.RankFailed, TimeoutError)) as failed:  # a TimeoutError fails the tests, with its text
            P.launch(R.save_then, world_size, loss_parallel_calls(world_size), str(out), then, then_args,
                     timeout=timeout)
        ended = time.time()
    left = types.SimpleNamespace(pids=list(watch.pids), ports=list(watch.ports))
    return types.SimpleNamespace(error=failed.value, started=started, ended=ended, out=out, left=left)


RAISE_TIMEOUT = 120  # the failure must end the launch long before this (3 ranks start in 5-30 s, with the machine's load)


@pytest.fixture(scope="module")
def raised(tmp_path_factory):
    """Launch 2: 3 ranks compare with loss_parallel, then rank 1 raises ValueError (stamping the time it does) while
    ranks 0 and 2 wait for it in an all-reduce."""
    stamp = tmp_path_factory.mktemp("stamp") / "raised_at"
    launched = failed_launch(tmp_path_factory, 3, R.raise_in_rank_stamped, (1, str(stamp)), timeout=RAISE_TIMEOUT)
    launched.stamp = stamp
    return launched


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Launch 3: 2 ranks compare with loss_parallel, then rank 1 kills itself with SIGKILL (as the out-of-memory
    killer would: it reports nothing) while rank 0 waits for it in an all-reduce."""
    return failed_launch(tmp_path_factory, 2, R.kill_rank, (1,))


def assert_agrees_with_loss_parallel(got, world_size, v):
    want_sizes = [len(c) for c in torch.arange(v).chunk(world_size)]
    assert [r["rank"] for r in got] == list(range(world_size)), f"expected a record from each of {world_size} ranks"
    for r in got:
        assert r["sizes"] == want_sizes, (f"compare_with_loss_parallel gave ours the split {r['sizes']}, not DTensor's "
                                          f"torch.chunk split {want_sizes} of V={v} over P={world_size}")
        for what in ("loss", "grad_weight"):
            assert r[what] <= 1e-12, (f"vocab-parallel {what} for P={world_size}, V={v} (split {r['sizes']}) differs "
                                      f"from torch's loss_parallel by {r[what]:.1e} > 1e-12 (float64), rank {r['rank']}")


def test_agrees_with_torch_loss_parallel_for_3_ranks_on_dtensors_split(raised):
    """P = 3, V = 10: DTensor splits like torch.chunk, 4+4+2, and ours is given that split; V = 9: 3+3+3."""
    per_rank = saved_results(raised.out, 3)
    for i, v in enumerate(LOSS_PARALLEL[3]):
        assert_agrees_with_loss_parallel([rank_results[i] for rank_results in per_rank], 3, v)


def test_agrees_with_torch_loss_parallel_for_2_ranks_on_an_even_split(killed):
    per_rank = saved_results(killed.out, 2)
    for i, v in enumerate(LOSS_PARALLEL[2]):
        assert_agrees_with_loss_parallel([rank_results[i] for rank_results in per_rank], 2, v)


def test_our_even_split_is_not_dtensors_so_loss_parallel_compares_only_on_its_own_split():
    """loss_parallel takes logits sharded as DTensor shards them (torch.chunk: ⌈V/P⌉ classes per rank, the last ones
    fewer). Ours splits as evenly as possible (the first V mod P ranks one more): for V = 10 over 3 ranks 4+3+3, where
    DTensor has 4+4+2. A weight split our way has no DTensor twin, so loss_parallel does not apply to it; that is why
    compare_with_loss_parallel gives our loss DTensor's sizes."""
    assert P.shard_sizes(10, 3) == [4, 3, 3]
    assert [len(c) for c in torch.arange(10).chunk(3)] == [4, 4, 2]


# ----------------------------------------------------------------------------- bad input: every rank says what is wrong


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_raises_a_clear_value_error_in_every_rank_before_any_collective(main, name):
    match = BAD_INPUT[name][2]
    for rank, errors in enumerate(main["bad input"]):
        got = errors[name]
        assert got.startswith("ValueError: ") and re.search(match, got), (
            f"{name}: rank {rank} of 4 gave {got!r}; expected a ValueError matching {match!r} in every rank")
        assert errors["in step"] == 4.0, f"rank {rank}: after the bad calls, an all-reduce of ones gave {errors['in step']}"


def test_a_rank_outside_the_group_is_told_so(main):
    """The group of ranks 0 and 1: ranks 2 and 3 calling the loss with it are no members (ranks 0 and 1 do not call)."""
    got = [errors["outside the group"] for errors in main["bad input"]]
    assert got[:2] == ["no error: None"] * 2, f"ranks 0 and 1 only create the group, yet reported {got[:2]}"
    for rank in (2, 3):
        assert got[rank] == "ValueError: this process is not a member of `group`: only its ranks may call the loss", (
            f"rank {rank} called the loss with a group of ranks 0 and 1 and got {got[rank]!r}; expected the ValueError "
            "saying it is not a member")


def test_a_bad_input_in_every_rank_reaches_launch_as_rank_failed_with_every_rank(watch):
    """Launch 5: shard sizes 6+6 for V = 10. Every rank raises at once; with grace, launch hears both."""
    with pytest.raises(P.RankFailed) as failed:
        P.launch(P.rank_loss, 2, 8, 4, 10, None, [6, 6], timeout=60, grace=20)
    errors = failed.value.errors
    assert sorted(errors) == [0, 1], f"RankFailed.errors has the ranks {sorted(errors)}, expected both 0 and 1"
    for rank, text in errors.items():
        assert text.startswith("ValueError: shard_sizes [6, 6] add up to 12, not to the vocabulary size V=10"), (
            f"rank {rank} reported {text!r}; expected the ValueError naming the shard sizes")
    assert "raised the same error" in str(failed.value), f"RankFailed's message should say the ranks agree:\n{failed.value}"
    assert_nothing_left(watch, "after every rank raised")


# ----------------------------------------------------------------------------- failing, hanging and killed ranks


def test_a_rank_that_raises_fails_the_launch_within_seconds_naming_it(raised):
    error = raised.error
    assert isinstance(error, P.RankFailed), f"launch raised {type(error).__name__}, not RankFailed: {error}"
    assert error.rank == 1, f"RankFailed blames rank {error.rank}; rank 1 raised (the others only waited for it):\n{error}"
    assert str(error).startswith("rank 1 of 3 failed: ValueError: this rank failed on purpose"), (
        f"RankFailed's message should start with rank 1 and its ValueError:\n{error}")
    assert "ValueError: this rank failed on purpose" in error.tracebacks[1], "rank 1's traceback is missing"
    # Timed from the failure: the ranks' start-up (importing torch) takes from 5 s to 30 s with the machine's load.
    after = raised.ended - float(raised.stamp.read_text())
    assert after < 10, (f"launch raised {after:.1f} s after rank 1 failed (rule: within a few seconds, not at the "
                        f"timeout of {RAISE_TIMEOUT} s)")
    total = raised.ended - raised.started
    assert total < RAISE_TIMEOUT / 2, f"launch took {total:.1f} s in all (timeout {RAISE_TIMEOUT} s): it waited for the timeout"


def test_after_a_rank_raised_no_process_and_no_open_port_is_left(raised):
    assert_nothing_left(raised.left, "after a rank raised")


def test_a_hang_times_out_naming_the_ranks_that_had_not_finished(watch):
    """Launch 4: rank 1 waits in an all-reduce that rank 0 never joins (rank 0 sleeps)."""
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"ranks \[0, 1\] of 2 had not finished after 5 s"):
        P.launch(P.wait_forever, 2, timeout=5)
    seconds = time.monotonic() - started
    assert seconds < 15, f"launch(timeout=5) raised TimeoutError after {seconds:.1f} s (rule: at the timeout, ~5-10 s)"
    assert_nothing_left(watch, "after a timeout")


def test_a_rank_killed_by_a_signal_fails_the_launch_naming_its_exit_code(killed):
    error = killed.error
    assert isinstance(error, P.RankFailed), f"launch raised {type(error).__name__}, not RankFailed: {error}"
    assert 1 in error.errors and "SIGKILL" in error.errors[1], (
        f"RankFailed.errors should say that rank 1 was killed by SIGKILL; got {error.errors}")
    assert error.rank == 1, (f"RankFailed blames rank {error.rank}, whose connection to the killed rank 1 closed; the "
                             f"cause is rank 1's death (rule: the cause first, then its echoes):\n{str(error)[:600]}")
    assert "SIGKILL" in str(error).split("\n")[0], f"RankFailed's first line should name the signal:\n{error}"


def test_after_a_rank_was_killed_no_process_and_no_open_port_is_left(killed):
    assert_nothing_left(killed.left, "after a rank was killed")


# ----------------------------------------------------------------------------- what launch refuses (no process starts)


MODULE_LAMBDA = lambda: None  # noqa: E731 - a lambda at the top of an importable module: pickle cannot find it by name


def test_launch_refuses_a_function_defined_in_a_notebook(monkeypatch, watch):
    notebook = types.ModuleType("__main__")  # a kernel's (or the interactive prompt's) __main__ has no __file__
    exec("def per_rank():\n    return 1\n", notebook.__dict__)
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    with pytest.raises(TypeError, match=r"per_rank is defined in a notebook.*put it in a \.py file as a def and import it"):
        P.launch(notebook.per_rank, 2)
    assert not watch.pids and not watch.ports, "launch started processes for a function it refuses"


def test_launch_refuses_local_functions_and_lambdas(watch):
    def local():
        return 1

    for fn in (local, lambda: 1):
        with pytest.raises(TypeError, match=r"inside a function.*put it in a \.py file as a def and import it"):
            P.launch(fn, 2)
    with pytest.raises(TypeError, match=r"lambda.*\.py file"):
        P.launch(MODULE_LAMBDA, 2)  # no "<locals>" in its name, but no name to import it by either
    assert not watch.pids and not watch.ports, "launch started processes for a function it refuses"


def test_an_argument_a_rank_cannot_receive_gives_the_pickling_error(watch):
    """The arguments travel to each rank by pickle: a lock cannot, and the error must say so (not be hidden)."""
    with pytest.raises(TypeError, match="cannot pickle '_thread.lock' object"):
        P.launch(P.raise_in_rank, 2, threading.Lock(), timeout=60)
    assert not [pid for pid in watch.pids if still_ours(pid)], "a rank started before the error was left behind"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"world_size": 0}, ValueError, "world_size must be an int >= 1"),
    ({"world_size": 2.0}, TypeError, "world_size must be an int"),
    ({"timeout": 0}, ValueError, "timeout must be > 0"),
    ({"threads": 0}, ValueError, "threads must be an int >= 1"),
], ids=["world_size 0", "world_size float", "timeout 0", "threads 0"])
def test_launch_checks_its_own_arguments(kwargs, exc, match, watch):
    world_size = kwargs.pop("world_size", 2)
    with pytest.raises(exc, match=match):
        P.launch(P.run_each, world_size, [], **kwargs)
    assert not watch.pids, "launch started processes despite a bad argument"


def test_the_loss_without_a_process_group_says_how_to_start_one():
    assert not dist.is_initialized(), "this test process must not be a rank"
    h, w, _, t = P.make_problem(4, 3, 5)
    with pytest.raises(RuntimeError, match=r"not initialised: run this inside softmax_ce\.parallel\.launch.*torchrun"):
        P.vocab_parallel_linear_cross_entropy(h, w, t, vocab_size=5)


# ----------------------------------------------------------------------------- the split, in one process


@given(st.integers(1, 10**6), st.data())
def test_shard_sizes_are_as_even_as_possible_the_first_ranks_larger(v, data):
    p = data.draw(st.integers(1, min(v, 64)))
    sizes = P.shard_sizes(v, p)
    base, extra = divmod(v, p)
    assert len(sizes) == p and sum(sizes) == v, f"shard_sizes({v}, {p}) = {sizes}: want {p} sizes summing to {v}"
    assert max(sizes) - min(sizes) <= 1, f"shard_sizes({v}, {p}) = {sizes} differ by more than 1"
    assert sizes == [base + 1] * extra + [base] * (p - extra), (
        f"shard_sizes({v}, {p}) = {sizes}: the first V mod P = {extra} ranks hold {base + 1}, the others {base}")
    ranges = P.shard_ranges(v, p)
    assert [b - a for a, b in ranges] == sizes and ranges[0][0] == 0 and ranges[-1][1] == v
    assert all(ranges[r][1] == ranges[r + 1][0] for r in range(p - 1)), f"shard_ranges({v}, {p}) leave gaps: {ranges}"


def test_shard_ranges_with_given_sizes():
    assert P.shard_ranges(10, 3, [4, 4, 2]) == [(0, 4), (4, 8), (8, 10)]
    assert P.shard_ranges(10, 3, (1, 1, 8)) == [(0, 1), (1, 2), (2, 10)]
    assert P.shard_ranges(5, 2, np.array([2, 3])) == [(0, 2), (2, 5)]
    assert P.shard_ranges(7, 1, [7]) == [(0, 7)]


SPLIT_ERRORS = [
    ("more ranks than classes", lambda: P.shard_sizes(3, 4), ValueError, "cannot split V=3 classes over P=4 ranks"),
    ("no classes", lambda: P.shard_sizes(0, 1), ValueError, "vocab_size must be an int >= 1"),
    ("no ranks", lambda: P.shard_sizes(10, 0), ValueError, "world_size must be an int >= 1"),
    ("float world size", lambda: P.shard_sizes(10, 2.0), TypeError, "world_size must be an int"),
    ("bool vocabulary", lambda: P.shard_sizes(True, 1), TypeError, "vocab_size must be an int"),
    ("sizes not adding up", lambda: P.shard_ranges(10, 3, [4, 4, 4]), ValueError,
     r"shard_sizes \[4, 4, 4\] add up to 12, not to the vocabulary size V=10"),
    ("too few sizes", lambda: P.shard_ranges(10, 3, [5, 5]), ValueError, "shard_sizes has 2 entries for 3 ranks"),
    ("too many sizes", lambda: P.shard_ranges(10, 2, [4, 3, 3]), ValueError, "shard_sizes has 3 entries for 2 ranks"),
    ("a zero size", lambda: P.shard_ranges(10, 3, [5, 5, 0]), ValueError, "shard_sizes must give every rank at least 1 class"),
    ("a negative size", lambda: P.shard_ranges(10, 3, [6, 5, -1]), ValueError, "shard_sizes must give every rank at least 1 class"),
    # the package's rule (validation.py): a wrong kind of value is a TypeError, a wrong value of the right kind a ValueError
    ("a bool size", lambda: P.shard_ranges(10, 3, [True, 5, 4]), TypeError, "shard_sizes must be whole numbers"),
    ("a float size", lambda: P.shard_ranges(10, 3, [4.0, 3, 3]), TypeError, "shard_sizes must be whole numbers"),
    ("a string size", lambda: P.shard_ranges(10, 3, ["4", 3, 3]), TypeError, "shard_sizes must be whole numbers"),
    ("float targets", lambda: P.owner_rank(np.array([0.5]), 10, 2), TypeError, "integer class indices"),
    ("target out of range", lambda: P.owner_rank([0, 10], 10, 2), ValueError, "target 10 is out of range for 10 classes"),
    ("negative target", lambda: P.owner_rank([-1, 3], 10, 2), ValueError, "target -1 is out of range for 10 classes"),
    ("owner with more ranks than classes", lambda: P.owner_rank([0], 3, 4), ValueError, "cannot split V=3"),
    ("1-d logits shard", lambda: P.shard_statistics(np.zeros(3), [0], 0), ValueError, r"logits_shard must be \(N, V_r\)"),
    ("torch logits shard", lambda: P.shard_statistics(torch.zeros(2, 3), [0, 0], 0), TypeError, "torch tensor"),
    ("target length", lambda: P.shard_statistics(np.zeros((2, 3)), [0], 0), ValueError, r"target must have shape \(2,\)"),
    ("statistics of different shapes", lambda: P.combine_shard_statistics(np.zeros((2, 3)), np.ones((2, 3)), np.zeros((2, 4))),
     ValueError, r"one shape \(P, N\)"),
    ("integer statistics", lambda: P.combine_shard_statistics(np.zeros((2, 3), int), np.ones((2, 3)), np.zeros((2, 3))),
     TypeError, "maxes must be a floating-point array"),
]


@pytest.mark.parametrize("call, exc, match", [e[1:] for e in SPLIT_ERRORS], ids=[e[0] for e in SPLIT_ERRORS])
def test_bad_splits_and_statistics_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@given(st.integers(1, 200), st.data())
def test_owner_rank_is_the_rank_whose_range_holds_the_class(v, data):
    p = data.draw(st.integers(1, min(v, 8)))
    t = data.draw(hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(0, v - 1)))
    ranges = P.shard_ranges(v, p)
    want = [next(r for r, (a, b) in enumerate(ranges) if a <= c < b) for c in t.tolist()]
    got = P.owner_rank(t, v, p)
    assert got.tolist() == want, f"owner_rank({t.tolist()}, V={v}, P={p}) = {got.tolist()}; shard_ranges say {want}"


@st.composite
def sharded_logits(draw):
    """Logits (N, V) with a random split into P ≥ 1 shards, targets, and extremes: ±1000 entries, and a shard far below."""
    n, v = draw(st.integers(1, 6)), draw(st.integers(1, 40))
    p = draw(st.integers(1, min(v, 6)))
    cuts = sorted(draw(st.lists(st.integers(1, v - 1), min_size=p - 1, max_size=p - 1, unique=True))) if p > 1 else []
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, v])]
    scale = draw(st.sampled_from([1.0, 30.0, 1000.0]))
    z = draw(hnp.arrays(np.float64, (n, v), elements=st.floats(-1, 1))) * scale
    if draw(st.booleans()):  # some logits at ±1000
        z[draw(hnp.arrays(np.bool_, (n, v)))] = draw(st.sampled_from([1000.0, -1000.0]))
    if p > 1 and draw(st.booleans()):  # one shard whose logits are all far below the rest: its e^{m_r − m} underflows
        r = draw(st.integers(0, p - 1))
        start = sum(sizes[:r])
        z[:, start:start + sizes[r]] -= 1e4
    t = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, v - 1)))
    return z, t, sizes


@given(sharded_logits())
def test_combining_shard_statistics_gives_logsumexp_minus_the_target_logit(problem):
    z, t, sizes = problem
    v = z.shape[1]
    stats = [P.shard_statistics(z[:, a:b], t, a) for a, b in P.shard_ranges(v, len(sizes), sizes)]
    maxes, sums, target_logits = (np.stack(s) for s in zip(*stats))
    got = P.combine_shard_statistics(maxes, sums, target_logits)
    zt = torch.from_numpy(z)
    want = (torch.logsumexp(zt, 1) - zt[torch.arange(len(t)), torch.from_numpy(t)]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(z).max()),
                               err_msg=f"combined shard statistics (split {sizes}) differ from torch.logsumexp(z) − z_t")


def test_ring_byte_counts_by_hand():
    # all-reduce: reduce-scatter then all-gather, each P − 1 steps of one P-th of the tensor: 2 (P − 1) / P of it
    assert P.ring_all_reduce_bytes(1024, 2, 4) == 4096  # 2 · 1/2 · 4096 bytes
    assert P.ring_all_reduce_bytes(1024, 4, 4) == 6144  # 2 · 3/4 · 4096
    assert P.ring_all_reduce_bytes(4096, 3, 8) == 43690  # 2 · 2/3 · 32768 = 43690.67, whole bytes
    assert P.ring_all_reduce_bytes(1000, 1, 8) == 0  # one rank sends nothing
    # all-gather: P − 1 steps of one P-th
    assert P.ring_all_gather_bytes(1024, 4, 4) == 3072
    assert P.ring_all_gather_bytes(1024, 2, 2) == 1024
    assert P.ring_all_gather_bytes(1000, 1, 4) == 0
    assert math.isclose(P.ring_all_reduce_bytes(10**6, 8, 4), 2 * P.ring_all_gather_bytes(10**6, 8, 4))
