"""Sampled softmax against the full softmax on a toy large-vocabulary problem: time, and the bias of loss and gradient.

    python benchmarks/sampled_softmax.py [--n 1024] [--d 128] [--v 32768] [--samples 32,128,512,2048,8192]
                                         [--draws 20] [--repeats 7] [--seed 0] [--peaked] [--threads 1] [--json]
    python benchmarks/sampled_softmax.py --record   # the defaults, saved for a notebook's table

The problem (``softmax_ce.sampled.toy_problem``, NumPy seed --seed): hidden states H (N × D) standard normal, an
output weight W (V × D) normal with standard deviation 1/√D (3/√D with --peaked), a bias b = log Q where Q is the
log-uniform (Zipf-like) distribution Q(k) = (log(k + 2) − log(k + 1)) / log(V + 1) of TensorFlow's
log_uniform_candidate_sampler (class 0 the most frequent, Q(k) falling about as 1/k), and targets t drawn from the
model's own softmax(H Wᵀ + b), so the class frequencies are Zipfian too. The proposal is the same Q: S class ids
drawn with replacement (``sampled.log_uniform_candidates``), shared by every row. The full softmax is
F.cross_entropy(F.linear(H, W, b), t); the sampled one ``sampled.sampled_softmax_loss`` on the target and those S ids.

Two measurements, for each S in --samples:
- time (float32 copies of the problem, this process, --threads torch threads): one forward + backward (∂H and ∂W)
  of the full softmax and of the sampled one (drawing its S ids included); every method runs once per round,
  --repeats rounds after one warm-up round (interleaved, so a change of load hits every method alike); the figure
  is the median round, every round is kept (seconds_runs), and vs_full is the sampled median over the full one;
- bias (float64, ``sampled.sampled_softmax_bias`` with repeats=--draws, seed=--seed): over --draws independent draws
  of the S ids, with the log-Q correction and without it (the same ids for both), the mean and standard error of
  the loss gap (sampled − full; it differs by about log(S·Q(t)), so also after subtracting that offset), each
  draw's gradient error, and the mean gradient's error ‖ḡ − g_full‖ / ‖g_full‖ for ∂H and ∂W next to the part of it
  the noise alone explains, √(tr Cov / R) / ‖g_full‖, and the bias estimate √(error² − noise²). With the correction
  the bias falls as S grows; without it the gradient stays biased towards the classes Q favours.
The bias numbers are reproducible from the seed (up to the last bits of BLAS's sums); the times are not.

Threads: one by default (torch.set_num_threads, for both measurements). On a shared machine, every parallel region
of torch's OpenMP threads waits for the busiest core: with 2 threads on the course's 2-core machine at a load
average of 4, one sampled step at S = 32 took 200 ms instead of 10 to 20 with one thread, so the ratio measured the
scheduler rather than the arithmetic. --threads 2 measures both cores (on an idle machine).

--record measures the defaults and writes them to notebooks/softmax_ce/recorded/sampled_softmax.json
(``softmax_ce.sampled.recorded_benchmark``), atomically, with the machine and the load average. Floats keep 4
significant digits, keys are sorted. Without --record nothing is written. With --json, the last line printed is one
JSON object: what --record would write. The defaults took 87 s on the course's 2-core machine, shared with other
work (load average 2 to 4): most of it the float64 bias at S = 8192.
"""

import argparse
import contextlib
import json
import os
import statistics
import time

from large_vocab import machine, shown  # benchmarks/large_vocab.py: the same machine description and paths
from vocab_parallel import ROOT, rounded, write_record  # 4 significant digits; an atomic write

RECORD = ROOT / "notebooks" / "softmax_ce" / "recorded" / "sampled_softmax.json"
COMMAND = "python benchmarks/sampled_softmax.py --record"
DEFAULTS = {"n": 1024, "d": 128, "v": 32768, "samples": "32,128,512,2048,8192", "draws": 20, "repeats": 7, "seed": 0,
            "peaked": False, "threads": 1}
PROBLEM = ("H (N x D) standard normal; W (V x D) normal with std {scale}/sqrt(D); bias b = log Q, Q the log-uniform "
           "(Zipf-like) Q(k) = (log(k+2) - log(k+1)) / log(V+1); targets drawn from softmax(H W^T + b) "
           "(softmax_ce.sampled.toy_problem, NumPy seed {seed}); proposal: the same Q, S ids drawn with replacement, "
           "shared by every row (log_uniform_candidates)")
NOTES = {
    "seconds": "median over interleaved rounds of one forward + backward (dH, dW), float32, this process; the sampled "
               "method's time includes drawing its S ids; vs_full = sampled median / full median",
    "loss_gap": "mean over draws of (sampled loss - full loss), both means over the N rows; _se: its standard error",
    "loss_gap_offset": "the same after subtracting log(S Q(t)) (log(S / V) without the correction) from each row",
    "grad_error": "grad_input_error, grad_weight_error: mean over draws of ||g - g_full|| / ||g_full|| (bias and noise)",
    "error_of_mean": "||mean of the draws' g - g_full|| / ||g_full||; _noise: sqrt(tr Cov / R) / ||g_full||, what the "
                     "noise alone explains; grad_*_bias: sqrt(max(0, error^2 - noise^2)), the estimated bias",
}


@contextlib.contextmanager
def torch_threads(count):
    """torch.set_num_threads(count) inside the block, the previous count after it (a caller's process keeps its own)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def parse_sizes(text):
    return [int(x) for x in str(text).split(",")]


def timed_problem(n, d, v, seed, peaked):
    """The toy problem in float32, H and W requiring gradients."""
    import numpy as np

    from softmax_ce import sampled

    h, w, b, t = sampled.toy_problem(n, d, v, np.random.default_rng(seed), peaked)
    return h.float().requires_grad_(), w.float().requires_grad_(), b.float(), t


def steps(h, w, b, t, sizes, seed):
    """{method: a function running one forward + backward}: 'full', then one per S."""
    import numpy as np
    import torch.nn.functional as F

    from softmax_ce import sampled

    rng = np.random.default_rng(seed + 1)  # the sampled ids of the timed runs; the bias has its own draws

    def full():
        F.cross_entropy(F.linear(h, w, b), t).backward()

    def sampled_step(s):
        def step():
            ids, _ = sampled.log_uniform_candidates(w.shape[0], s, rng)
            sampled.sampled_softmax_loss(h, w, t, ids, b, linear_bias=b).backward()
        return step

    return {"full": full, **{s: sampled_step(s) for s in sizes}}


def timing(args):
    """Median seconds of every method over --repeats interleaved rounds, after one warm-up round."""
    h, w, b, t = timed_problem(args.n, args.d, args.v, args.seed, args.peaked)
    runs = steps(h, w, b, t, parse_sizes(args.samples), args.seed)
    seconds = {m: [] for m in runs}
    for rnd in range(args.repeats + 1):
        for method, step in runs.items():
            h.grad = w.grad = None
            start = time.perf_counter()
            step()
            if rnd:  # round 0 warms up: thread pools, BLAS buffers, the allocator
                seconds[method].append(time.perf_counter() - start)
    full_runs = seconds.pop("full")
    full = statistics.median(full_runs)
    return {"full": {"seconds": full, "seconds_runs": full_runs},
            "sampled": [{"n_samples": s, "seconds": statistics.median(x), "seconds_runs": x,
                         "vs_full": statistics.median(x) / full} for s, x in seconds.items()]}


def bias(args):
    """The rows of ``sampled.sampled_softmax_bias`` for every S, with and without the log-Q correction."""
    from softmax_ce import sampled

    return sampled.sampled_softmax_bias(n=args.n, d=args.d, v=args.v, n_samples_list=parse_sizes(args.samples),
                                        repeats=args.draws, seed=args.seed, peaked=args.peaked)


def build_record(args, timed, rows, load_before, load_after):
    return rounded({
        "command": COMMAND,
        "shape": {"n": args.n, "d": args.d, "v": args.v, "samples": parse_sizes(args.samples), "draws": args.draws,
                  "repeats": args.repeats, "seed": args.seed, "peaked": args.peaked, "threads": args.threads,
                  "dtype_time": "float32", "dtype_bias": "float64"},
        "problem": PROBLEM.format(scale=3 if args.peaked else 1, seed=args.seed),
        "machine": machine(),
        "load_average": {"before": list(load_before), "after": list(load_after)},
        "notes": NOTES,
        "timing": timed,
        "bias": rows,
    })


def print_table(record):
    shape, timed = record["shape"], record["timing"]
    print(f"N={shape['n']} tokens, D={shape['d']}, V={shape['v']}: sampled softmax (S ids from the log-uniform Q, "
          "shared by the rows) against F.cross_entropy(F.linear(H, W, b), t)")
    print(f"time, float32, {shape['threads']} thread(s), forward + backward, median of {shape['repeats']} interleaved rounds: full softmax "
          f"{timed['full']['seconds'] * 1e3:.1f} ms")
    print(f"{'S':>6} {'sampled ms':>11} {'vs full':>8}")
    for r in timed["sampled"]:
        print(f"{r['n_samples']:6d} {r['seconds'] * 1e3:11.2f} {r['vs_full']:7.3f}x")
    print(f"bias, float64, {shape['draws']} draws per S (the same ids with and without log-Q); ± one standard error; "
          "mean gradient: error (noise alone) and bias estimate")
    print(f"{'S':>6} {'log-Q':>5} {'loss gap':>17} {'gap - log(SQ(t))':>17} {'dH err/draw':>11} "
          f"{'dH mean: error (noise)':>23} {'dH bias':>8} {'dW mean: error (noise)':>23} {'dW bias':>8}")
    for r in record["bias"]:
        print(f"{r['n_samples']:6d} {'yes' if r['log_q_correction'] else 'no':>5} "
              f"{r['loss_gap']:8.4f} ± {r['loss_gap_se']:6.4f} {r['loss_gap_offset']:8.4f} ± {r['loss_gap_offset_se']:6.4f} "
              f"{r['grad_input_error']:11.4f} {r['grad_input_error_of_mean']:13.4f} ({r['grad_input_error_of_mean_noise']:.4f}) "
              f"{r['grad_input_bias']:8.4f} {r['grad_weight_error_of_mean']:13.4f} ({r['grad_weight_error_of_mean_noise']:.4f}) "
              f"{r['grad_weight_bias']:8.4f}")
    print("(loss gap: sampled − full loss; err/draw: ||g − g_full|| / ||g_full|| of one draw; mean: the same for the "
          "mean over the draws, and in brackets what the noise alone explains; bias: sqrt(error² − noise²))")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=DEFAULTS["n"], help="tokens (rows of hidden states)")
    parser.add_argument("--d", type=int, default=DEFAULTS["d"], help="hidden size")
    parser.add_argument("--v", type=int, default=DEFAULTS["v"], help="vocabulary size")
    parser.add_argument("--samples", default=DEFAULTS["samples"], help="comma-separated sample sizes S")
    parser.add_argument("--draws", type=int, default=DEFAULTS["draws"], help="independent draws per S for the bias")
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"], help="timed rounds (median)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="NumPy seed of the problem and the draws")
    parser.add_argument("--peaked", action="store_true", help="logits of std 3: each row's softmax on a few classes")
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"], help="torch threads (both measurements)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--record", action="store_true", help=f"measure the defaults and write them to {shown(RECORD)}")
    args = parser.parse_args(argv)
    if args.record:
        given = [f"--{k}" for k in DEFAULTS if getattr(args, k) != parser.get_default(k)]
        if given:
            parser.error(f"--record measures the recorded shape (the defaults); leave out {', '.join(given)}")
    try:
        sizes = parse_sizes(args.samples)
    except ValueError:
        parser.error(f"--samples must be a sample size or a comma-separated list, such as 32,128; got {args.samples!r}")
    for name in ("n", "d", "v", "draws", "repeats", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.draws < 2:
        parser.error(f"--draws must be at least 2 for a standard error, got {args.draws}")
    if not sizes or any(s < 1 for s in sizes):
        parser.error(f"--samples: every sample size must be at least 1, got {args.samples!r}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    with torch_threads(args.threads):
        load_before = os.getloadavg()
        timed = timing(args)
        rows = bias(args)
        record = build_record(args, timed, rows, load_before, os.getloadavg())
    print_table(record)
    if args.record:
        write_record(record, RECORD)
        print(f"recorded in {shown(RECORD)}")
    if args.json:
        print(json.dumps(record, sort_keys=True))
    return record


if __name__ == "__main__":
    main()
