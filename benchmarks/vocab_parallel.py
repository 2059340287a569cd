"""Per-rank peak memory, time and communication of the vocabulary-parallel cross-entropy for P = 1, 2, 4 ranks.

    python benchmarks/vocab_parallel.py [--n 2048] [--d 256] [--v 32768] [--p 1,2,4] [--chunk-size 256] [--repeats 5] [--json]
    python benchmarks/vocab_parallel.py --record   # notebook 11's figures, saved for its table

Each P runs in fresh processes started by ``softmax_ce.parallel.launch``: P ranks of a gloo process group on
127.0.0.1, rank r holding classes ``shard_ranges(V, P)[r]`` of the output weight W (V × D) and the same hidden
states H (N × D) and targets t (``parallel.make_problem``, seed 0, float32). Two methods, both
``parallel.vocab_parallel_linear_cross_entropy``:
- unchunked (chunk_size=None): each rank holds its N × V/P logits at once, as Megatron's vocab-parallel loss does;
- chunked (chunk_size=--chunk-size rows): each rank holds at most chunk_size × V/P logits.
Each rank allocates its inputs, warms up on 8 rows (thread pools, BLAS buffers, gloo's buffers), then measures:
- peak memory: how far one forward + backward raises the rank's peak resident set size above its RSS once the
  inputs exist (``softmax_ce.memory.peak_rss_growth_mb``). These ranks start with MALLOC_MMAP_THRESHOLD_=65536
  (set in this process's environment for that launch only, which the ranks inherit), so freed buffers go back to
  the OS at once and do not hide the next allocation. In the same run, the bytes each rank sends in forward and
  in backward (the change of /proc/self/io's wchar, ``parallel.bytes_sent``: gloo's socket writes) and the
  ``torch.distributed`` collectives it calls (``parallel.count_collectives``);
- time: --repeats forward + backward runs, each started after a ``dist.barrier()``; a run's time is the slowest
  rank's (every rank must finish), the figure is the median run, and every run's time is kept (seconds_runs).
  These ranks keep the default allocator, which is faster for the chunked method's repeated allocations.
So each P takes two launches, memory then time; each launch measures both methods one after the other, each warmed
up and measured on its own (half the start-ups of one launch per method: starting P ranks costs 3 to 6 s here).

Threads: each rank runs max(1, cores // P) threads, so on this course's 2-core machine P = 1 uses both cores, P = 2
one each, and P = 4 puts 4 single-threaded processes on 2 cores: its times measure time-sharing, not parallel
speed-up (the record says so too, and marks such rows "oversubscribed"). The work per rank shrinks as 1/P; on a
machine with P free cores the time would too, less the all-reduces.

Correctness: this process computes the loss and gradients once with F.cross_entropy(F.linear(H, W), t) in float32;
every run's loss (memory and time launches), the gradients of the measured run and of the first timed run (H's
on every rank, each rank's W shard against its rows of W's), and each later timed run's gradients against the first
one's, give the max rel. diff column: max |ours − reference| / max |reference|. A value far above float32's 1e-6
means a wrong result, not a slow one; --record refuses to write above MAX_REL_DIFF.

Also printed, per P, the arithmetic: logits bytes per rank N·⌈V/P⌉·4 against N·V·4 in one process, the logits
memory each rank avoids, the three all-reduces' payload (3 × N × 4 bytes) and what a ring all-reduce of it sends per
rank (``parallel.ring_all_reduce_bytes``), against what a ring all-gather of the N × V logits would send
(``parallel.ring_all_gather_bytes``), and the ring all-reduce of ∂L/∂H (N × D) in backward.

The default shape is the large-vocabulary benchmark's with half the tokens: N = 2048, D = 256, V = 32768 (one
process's logits are 256 MiB). At large_vocab.py's N = 4096 the --record sweep took 6.7 minutes on the course's
2-core AMD EPYC machine (24 GiB), shared with other work at the time (load average 5 to 9); about 2.5 minutes
would be expected idle. N = 2048 halves the arithmetic (the start-ups of the ranks stay): its sweep took 97 s with
the machine otherwise idle. --n 4096 measures the larger shape (without --record).

--record measures the defaults (what notebook 11 shows) and writes them to
notebooks/softmax_ce/recorded/vocab_parallel.json (``softmax_ce.parallel.recorded_benchmark``), only once every
measurement has succeeded and agreed with the reference, and atomically (a temporary file beside it, then
os.replace): a failed run leaves the previous record as it was. Floats keep 4 significant digits, keys are sorted.
Without --record nothing is written. With --json, the last line printed is one JSON object: what --record would
write.
"""

import argparse
import contextlib
import json
import math
import os
import pathlib
import statistics
import sys
import tempfile
import time

from large_vocab import machine, shown  # benchmarks/large_vocab.py: the same machine description and paths

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORD = ROOT / "notebooks" / "softmax_ce" / "recorded" / "vocab_parallel.json"
COMMAND = "python benchmarks/vocab_parallel.py --record"
METHODS = ("unchunked", "chunked")
DEFAULTS = {"n": 2048, "d": 256, "v": 32768, "p": "1,2,4", "chunk_size": 256, "repeats": 5}
DTYPE, BYTES_PER_NUMBER = "float32", 4
SEED = 0
WARM_UP_ROWS = 8
TIMEOUT = 600.0  # seconds per launch: a time launch at the default shape takes about 20 on the idle 2-core machine
MAX_REL_DIFF = 1e-4  # float32 agrees to about 1e-6; above this the loss is wrong
THREADS_NOTE = ("each rank runs max(1, cores // P) threads: with {cores} cores, P = 1 uses {p1}, and P > {cores} puts "
                "P single-threaded processes on {cores} cores (oversubscribed), so its times measure time-sharing, "
                "not parallel speed-up")


def cores():
    return os.cpu_count() or 1


def threads_per_rank(p):
    return max(1, cores() // p)


def method_chunk(method, chunk_size):
    if method == "unchunked":
        return None
    if method == "chunked":
        return chunk_size
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def _rel(a, b):
    """max |a − b| / max |b|, in float64."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()


# ----------------------------------------------------------------------------- what each rank runs


def rank_measure(n, d, v, methods, chunk_size, repeats, modes):
    """Inside each rank of ``softmax_ce.parallel.launch``: {mode: {method: ...}} for each of ``modes`` in turn. Mode
    "time": the seconds of ``repeats`` forward + backward runs; mode "memory": the peak RSS growth, bytes sent and
    collectives of one. Both also return the losses and this rank's gradients, for the comparison with one process."""
    import torch
    import torch.distributed as dist

    from softmax_ce import parallel
    from softmax_ce.memory import peak_rss_growth_mb

    rank, world = dist.get_rank(), dist.get_world_size()
    start, stop = parallel.shard_ranges(v, world)[rank]
    hidden, weight, _, target = parallel.make_problem(n, d, v, dtype=getattr(torch, DTYPE), seed=SEED)
    shard = weight[start:stop].clone().requires_grad_()  # this rank's V/P rows of W
    del weight
    hidden.requires_grad_()

    def step(size, h=hidden, t=target, phases=None):
        """One forward + backward; with ``phases`` (a dict), what each phase sent and which collectives it called."""
        hidden.grad = shard.grad = None
        count = phases is not None
        with parallel.count_collectives() if count else contextlib.nullcontext() as calls:
            before = parallel.bytes_sent() if count else None
            loss = parallel.vocab_parallel_linear_cross_entropy(h, shard, t, vocab_size=v, chunk_size=size)
            middle = parallel.bytes_sent() if count else None
        forward_calls = len(calls) if count else None
        with parallel.count_collectives() if count else contextlib.nullcontext() as calls:
            loss.backward()
            after = parallel.bytes_sent() if count else None
        if count:
            phases.update(bytes_sent_forward=None if before is None else middle - before,
                          bytes_sent_backward=None if middle is None else after - middle,
                          collectives_forward=forward_calls, collectives_backward=len(calls))
        return loss.item()

    out = {}
    for mode in modes:
        out[mode] = {}
        for method in methods:
            size = method_chunk(method, chunk_size)
            step(size, hidden[:WARM_UP_ROWS].detach().requires_grad_(), target[:WARM_UP_ROWS])  # warm-up
            hidden.grad = shard.grad = None
            if mode == "memory":
                phases = {}
                dist.barrier()
                loss, peak_mb = peak_rss_growth_mb(step, size, phases=phases)
                if peak_mb is None:
                    raise RuntimeError("this system reports no peak memory (no /proc, no resource module): measure on Linux")
                out[mode][method] = {"peak_mb": peak_mb, "losses": [loss], "grad_hidden": hidden.grad,
                                     "grad_weight": shard.grad, **phases}
            elif mode == "time":
                seconds, losses, first, drift = [], [], None, 0.0
                for _ in range(repeats):
                    dist.barrier()
                    began = time.perf_counter()
                    losses.append(step(size))
                    seconds.append(time.perf_counter() - began)
                    if first is None:
                        first = (hidden.grad, shard.grad)
                    else:  # every later run's gradients against the first run's
                        drift = max(drift, _rel(hidden.grad, first[0]), _rel(shard.grad, first[1]))
                out[mode][method] = {"seconds": seconds, "losses": losses, "grad_hidden": first[0],
                                     "grad_weight": first[1], "run_to_run_rel_diff": drift}
            else:
                raise ValueError(f"mode must be 'memory' or 'time', got {mode!r}")
            hidden.grad = shard.grad = None  # the results keep them: the next measurement's baseline includes them
    return {"rank": rank, "start": start, "stop": stop, "results": out}


# ----------------------------------------------------------------------------- this process


@contextlib.contextmanager
def environment(**values):
    """os.environ with ``values`` set for the duration (the ranks launch inside inherit it), then as it was."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure(p, n, d, v, methods, chunk_size, repeats, modes, **env):
    """One launch of P ranks measuring every method in each of ``modes``, with ``env`` set: the ranks' reports, by rank."""
    from softmax_ce import parallel

    with environment(**env):
        return parallel.launch(rank_measure, p, n, d, v, list(methods), chunk_size, repeats, list(modes), timeout=TIMEOUT,
                               threads=threads_per_rank(p))


def reference(n, d, v):
    """The loss and gradients of one process: F.cross_entropy(F.linear(H, W), t), on the ranks' seeded problem."""
    import torch
    import torch.nn.functional as F

    from softmax_ce import parallel

    hidden, weight, _, target = parallel.make_problem(n, d, v, dtype=getattr(torch, DTYPE), seed=SEED)
    hidden.requires_grad_()
    weight.requires_grad_()
    loss = F.cross_entropy(F.linear(hidden, weight), target)
    loss.backward()
    return {"loss": loss.detach(), "grad_hidden": hidden.grad, "grad_weight": weight.grad}


def agreement(reports, ref):
    """Largest relative difference of the ranks' losses and gradients (both launches) to the single process's."""
    import torch

    worst = 0.0
    for report in reports:
        r = report["results"]
        start, stop = report["start"], report["stop"]
        worst = max(worst, r.get("run_to_run_rel_diff", 0.0))
        worst = max(worst, _rel(torch.tensor(r["losses"], dtype=torch.float64), ref["loss"].double().expand(len(r["losses"]))))
        worst = max(worst, _rel(r["grad_hidden"], ref["grad_hidden"]), _rel(r["grad_weight"], ref["grad_weight"][start:stop]))
    return worst


def one_value(values, what):
    """The value every rank reported (collective counts must agree: every rank calls the same collectives)."""
    if len(set(values)) != 1:
        raise RuntimeError(f"the ranks disagree on {what}: {values}")
    return values[0]


def arithmetic(n, d, v, ps, chunk_size):
    """Per P: the logits each rank holds and avoids, and what the all-reduces send against an all-gather of the logits."""
    from softmax_ce import parallel

    b = BYTES_PER_NUMBER
    rows = []
    for p in ps:
        per_rank = max(parallel.shard_sizes(v, p))  # ⌈V/P⌉
        rows.append({
            "p": p,
            "logits_bytes_one_process": n * v * b,
            "logits_bytes_per_rank": n * per_rank * b,
            "logits_bytes_avoided_per_rank": n * v * b - n * per_rank * b,
            "chunk_logits_bytes_per_rank": min(chunk_size, n) * per_rank * b,
            "all_reduce_payload_bytes": 3 * n * b,
            "ring_all_reduce_bytes_sent": 3 * parallel.ring_all_reduce_bytes(n, p, b),
            "ring_all_gather_logits_bytes_sent": parallel.ring_all_gather_bytes(n * v, p, b),
            "grad_hidden_ring_all_reduce_bytes_sent": parallel.ring_all_reduce_bytes(n * d, p, b),
        })
    return rows


def sweep(args):
    """{method: [result for each P]}: for each P a memory launch and a time launch, each measuring every method."""
    ps = parse_ps(args.p)
    ref = reference(args.n, args.d, args.v)
    results = {m: [] for m in METHODS}
    for p in ps:
        memory = measure(p, args.n, args.d, args.v, METHODS, args.chunk_size, args.repeats, ["memory"],
                         MALLOC_MMAP_THRESHOLD_="65536")
        timing = measure(p, args.n, args.d, args.v, METHODS, args.chunk_size, args.repeats, ["time"])
        reports = [{**r, "results": r["results"]["memory"]} for r in memory] + \
                  [{**r, "results": r["results"]["time"]} for r in timing]
        for method in METHODS:
            mem = [report["results"]["memory"][method] for report in memory]
            tim = [report["results"]["time"][method] for report in timing]
            runs = [max(rank_runs) for rank_runs in zip(*(r["seconds"] for r in tim))]  # the slowest rank, per run
            worst = agreement([{**rep, "results": rep["results"][method]} for rep in reports], ref)
            results[method].append({
                "p": p,
                "threads": threads_per_rank(p),
                "oversubscribed": p * threads_per_rank(p) > cores(),
                "peak_mb_per_rank": [r["peak_mb"] for r in mem],
                "seconds": statistics.median(runs),
                "seconds_runs": runs,
                "bytes_sent_forward": [r["bytes_sent_forward"] for r in mem],
                "bytes_sent_backward": [r["bytes_sent_backward"] for r in mem],
                "collectives_forward": one_value([r["collectives_forward"] for r in mem], "collectives in forward"),
                "collectives_backward": one_value([r["collectives_backward"] for r in mem], "collectives in backward"),
                "max_rel_diff": worst,
            })
    return results


def rounded(value, digits=4):
    """Floats to ``digits`` significant digits, everywhere in a JSON-like structure (ints and bools as they are)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: rounded(x, digits) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(x, digits) for x in value]
    return value


def build_record(args, results, load_before, load_after):
    c = cores()
    return rounded({
        "command": COMMAND,
        "shape": {"n": args.n, "d": args.d, "v": args.v, "dtype": DTYPE, "repeats": args.repeats,
                  "chunk_size": args.chunk_size},
        "machine": machine(),
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "notes": {
            "threads": THREADS_NOTE.format(cores=c, p1=threads_per_rank(1)),
            "peak_mb_per_rank": "growth of each rank's peak RSS over one forward + backward, MiB (2**20 bytes), "
                                "inputs already allocated, after a warm-up on 8 rows, MALLOC_MMAP_THRESHOLD_=65536",
            "seconds": "median over runs of the slowest rank's forward + backward, each run after a dist.barrier()",
            "bytes_sent": "per rank, the change of /proc/self/io wchar (gloo's socket writes, headers included)",
            "max_rel_diff": "max |ours - F.cross_entropy(F.linear(H, W), t)| / max |reference|, loss and gradients",
        },
        "results": results,
        "arithmetic": arithmetic(args.n, args.d, args.v, parse_ps(args.p), args.chunk_size),
    })


def write_record(record, path=None):
    """Write ``record`` to ``path`` (default RECORD) atomically: a temporary file in the same folder, then os.replace."""
    path = pathlib.Path(RECORD if path is None else path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def mib(nbytes):
    return nbytes / 2**20


def kib(nbytes):
    return "-" if nbytes is None else f"{nbytes / 2**10:.1f}"


def print_table(record):
    shape, results = record["shape"], record["results"]
    n, d, v, chunk = shape["n"], shape["d"], shape["v"], shape["chunk_size"]
    print(f"N={n} tokens, D={d}, V={v}, {shape['dtype']}: one forward + backward, W split over P ranks (gloo, fresh "
          f"processes); chunked = {chunk} rows at a time")
    print(f"(one process's N x V logits are {mib(n * v * BYTES_PER_NUMBER):.0f} MiB; threads: {record['notes']['threads']})")
    print(f"{'method':10} {'P':>2} {'thr':>3} {'peak MiB per rank':>30} {'seconds':>8} {'vs P=1':>7} "
          f"{'sent fwd KiB':>13} {'sent bwd KiB':>13} {'coll. f+b':>9} {'max rel. diff':>13}")
    for method, rows in results.items():
        base = rows[0]["seconds"] if rows and rows[0]["p"] == 1 else None
        for r in rows:
            peaks = ", ".join(f"{x:.1f}" for x in r["peak_mb_per_rank"])
            ratio = f"{r['seconds'] / base:6.2f}x" if base else f"{'-':>7}"
            sent_f = kib(max(r["bytes_sent_forward"], key=lambda x: x or 0))
            sent_b = kib(max(r["bytes_sent_backward"], key=lambda x: x or 0))
            star = "*" if r["oversubscribed"] else " "
            print(f"{method:10} {r['p']:2d} {r['threads']:2d}{star} {peaks:>30} {r['seconds']:8.3f} {ratio} {sent_f:>13} "
                  f"{sent_b:>13} {r['collectives_forward']:>4} + {r['collectives_backward']:<2} {r['max_rel_diff']:13.2e}")
    print(f"(seconds: median of {shape['repeats']} runs, each the slowest rank's; vs P=1: time / P=1's; sent: the "
          "rank that sent most; coll.: torch.distributed calls in forward + backward; * oversubscribed: more threads "
          "than cores, time-sharing)")
    print("arithmetic per rank, float32:")
    print(f"{'P':>2} {'logits MiB':>10} {'avoided MiB':>11} {'chunk MiB':>9} {'3 all-reduces KiB':>17} "
          f"{'ring sends KiB':>14} {'all-gather of logits MiB':>24} {'dL/dH ring KiB':>14}")
    for a in record["arithmetic"]:
        print(f"{a['p']:2d} {mib(a['logits_bytes_per_rank']):10.1f} {mib(a['logits_bytes_avoided_per_rank']):11.1f} "
              f"{mib(a['chunk_logits_bytes_per_rank']):9.1f} {a['all_reduce_payload_bytes'] / 2**10:17.1f} "
              f"{a['ring_all_reduce_bytes_sent'] / 2**10:14.1f} {mib(a['ring_all_gather_logits_bytes_sent']):24.1f} "
              f"{a['grad_hidden_ring_all_reduce_bytes_sent'] / 2**10:14.1f}")
    print("(logits: N x ceil(V/P) x 4 bytes held by each rank unchunked, against N x V x 4 in one process; chunk: "
          f"{chunk} x ceil(V/P) x 4; ring sends: what one rank sends in ring all-reduces of the 3 x N statistics; "
          "all-gather: what it would send to assemble the N x V logits instead; dL/dH: backward's all-reduce of N x D)")


def parse_ps(text):
    return [int(x) for x in str(text).split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=DEFAULTS["n"], help="tokens (rows of hidden states)")
    parser.add_argument("--d", type=int, default=DEFAULTS["d"], help="hidden size")
    parser.add_argument("--v", type=int, default=DEFAULTS["v"], help="vocabulary size")
    parser.add_argument("--p", default=DEFAULTS["p"], help="comma-separated numbers of ranks")
    parser.add_argument("--chunk-size", type=int, default=DEFAULTS["chunk_size"], help="rows per chunk of the chunked method")
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"])
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--record", action="store_true", help=f"measure the defaults and write them to {shown(RECORD)}")
    args = parser.parse_args(argv)
    if args.record:
        given = [f"--{k.replace('_', '-')}" for k in DEFAULTS if getattr(args, k) != parser.get_default(k)]
        if given:
            parser.error(f"--record measures notebook 11's own shape (the defaults); leave out {', '.join(given)}")
    try:
        ps = parse_ps(args.p)
    except ValueError:
        parser.error(f"--p must be a number of ranks or a comma-separated list, such as 1,2,4; got {args.p!r}")
    for name in ("n", "d", "v", "chunk_size", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not ps or any(p < 1 or p > args.v for p in ps):
        parser.error(f"--p: every number of ranks must be between 1 and V={args.v}, got {args.p!r}")
    load_before = os.getloadavg()
    results = sweep(args)
    record = build_record(args, results, load_before, os.getloadavg())
    print_table(record)
    if args.record:
        wrong = {f"{m} P={r['p']}": r["max_rel_diff"] for m, rows in record["results"].items() for r in rows
                 if not r["max_rel_diff"] <= MAX_REL_DIFF}
        if wrong:
            sys.exit(f"not recorded: the loss or gradients differ from one process's by more than {MAX_REL_DIFF:g} "
                     f"({wrong}); {shown(RECORD)} is unchanged")
        write_record(record)
        print(f"recorded in {shown(RECORD)}")
    if args.json:
        print(json.dumps(record, sort_keys=True))
    return record


if __name__ == "__main__":
    main()
