"""`torchrun --nproc-per-node 2 --standalone -m softmax_ce.parallel`: the vocabulary-parallel loss launched the way
a training job is, by torch's own launcher (its elastic agent, its rendezvous on a free port, its environment
variables), not by softmax_ce.parallel.launch. Each rank prints one line comparing itself with one process."""

import math
import pathlib
import re
import subprocess
import sys

import softmax_ce.parallel as P

TORCHRUN = pathlib.Path(sys.executable).parent / "torchrun"  # the console script torch installs beside python
# _torchrun_main's case: 64 rows in chunks of 24, V = 1001 over 2 ranks (501 + 500 classes)
N, CHUNK, V, RANKS = 64, 24, 1001, 2
LINE = re.compile(r"rank (?P<rank>\d+) of (?P<world>\d+): classes (?P<first>\d+)\.\.(?P<last>\d+); largest relative "
                  r"difference from one process: loss (?P<loss>\S+), grad of H (?P<h>\S+), grad of its W shard "
                  r"(?P<w>\S+); collectives: (?P<forward>\d+) forward(?: \([^)]*\))?, (?P<backward>\d+) backward")


def test_torchrun_runs_the_comparison_on_two_ranks(tmp_path):
    assert TORCHRUN.exists(), f"{TORCHRUN} is missing: torch's console scripts are not installed in this environment"
    command = [str(TORCHRUN), "--nproc-per-node", str(RANKS), "--standalone", "-m", "softmax_ce.parallel"]
    # --standalone: the rendezvous store on a free port, so two runs at once never collide; cwd: nothing to shadow
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, (f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout[-2000:]}\n"
                                    f"{result.stderr[-4000:]}")
    lines = [m for m in map(LINE.fullmatch, result.stdout.splitlines()) if m]
    assert sorted(int(m["rank"]) for m in lines) == list(range(RANKS)), (
        f"expected one line per rank, 'rank r of {RANKS}: classes ...' (softmax_ce.parallel._torchrun_main); got:\n"
        f"{result.stdout}")
    chunks = math.ceil(N / CHUNK)
    for m in lines:
        rank = int(m["rank"])
        assert int(m["world"]) == RANKS, f"rank {rank} reports a world of {m['world']}, not {RANKS}:\n{m[0]}"
        start, stop = P.shard_ranges(V, RANKS)[rank]
        assert (int(m["first"]), int(m["last"])) == (start, stop - 1), (
            f"rank {rank} holds classes {m['first']}..{m['last']}, expected its shard {start}..{stop - 1}:\n{m[0]}")
        for what in ("loss", "h", "w"):
            assert float(m[what]) < 1e-12, (f"under torchrun, rank {rank}'s {what} differs from one process by "
                                            f"{m[what]} >= 1e-12 (float64):\n{m[0]}")
        assert int(m["forward"]) == 3 * chunks, (f"rank {rank} made {m['forward']} forward collectives; expected 3 per "
                                                 f"chunk, {chunks} chunks of {CHUNK} rows for {N}:\n{m[0]}")
        assert int(m["backward"]) == 1, f"rank {rank} made {m['backward']} backward collectives, expected 1:\n{m[0]}"
