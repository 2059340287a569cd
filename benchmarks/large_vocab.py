"""Peak memory and time of linear + cross-entropy over a large vocabulary: naive torch, ours, torch's chunked path.

    python benchmarks/large_vocab.py [--n 4096] [--d 256] [--v 32768] [--dtype float32] [--repeats 5] [--json]
    python benchmarks/large_vocab.py --record      # notebook 09's sweep, saved for its table and figure

Each method runs in fresh subprocesses. There it allocates the inputs (hidden states N × D, output weight V × D,
targets), warms up on 8 rows (thread pools, BLAS buffers), then measures, each in a process of its own:
- peak memory: how far forward + backward raise the peak resident set size above the RSS after the inputs exist
  (this process runs with MALLOC_MMAP_THRESHOLD_=65536, so freed buffers go back to the OS at once and do not hide
  the next allocation);
- time: the median wall time of --repeats forward + backward runs (this process keeps the default allocator, which
  is faster for the chunked methods' repeated allocations).
The loss and both gradients of each method are compared with the naive path's.

Methods: naive = F.cross_entropy(F.linear(h, W), t); ours = softmax_ce.large_vocab.linear_cross_entropy;
torch_chunked = F.linear_cross_entropy(..., options=torch.nn.LinearCrossEntropyOptions()), with torch's automatic
chunking unless --torch-chunk-size sets batch_chunk_size (ours uses chunks of 256 rows).
--v takes a comma-separated list (--v 2048,4096,8192) to sweep the vocabulary size.

--record runs notebook 09's sweep (N = 1024, D = 256, V = 2048, 4096, 8192, also torch_chunked_256: torch's path with
batch_chunk_size=256) and writes it to notebooks/softmax_ce/recorded/large_vocab.json, which the notebook shows
(``softmax_ce.large_vocab.recorded_benchmark``): the notebook itself measures nothing, so its stored outputs do not
change from run to run. Without --record nothing is written.

With --json, the last line printed is one JSON object: {"naive": {"peak_mb": …, "seconds": …}, "ours": {…},
"torch_chunked": {…}, "shape": {…}}.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
METHODS = ("naive", "ours", "torch_chunked")


def loss_fn(method, torch_chunk_size=None):
    import torch
    import torch.nn.functional as F

    from softmax_ce.large_vocab import linear_cross_entropy

    if method == "naive":
        return lambda h, w, t: F.cross_entropy(F.linear(h, w), t)
    if method == "ours":
        return lambda h, w, t: linear_cross_entropy(h, w, t)
    if method.startswith("torch_chunked_"):  # torch_chunked_256: a fixed batch_chunk_size
        method, torch_chunk_size = "torch_chunked", int(method.rsplit("_", 1)[1])
    if method == "torch_chunked":
        options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=torch_chunk_size)
        return lambda h, w, t: F.linear_cross_entropy(h, w, t, options=options)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS} or torch_chunked_<rows>")


def run_one(method, n, d, v, dtype_name, repeats, result_file, mode, torch_chunk_size=None):
    """Inside a subprocess: in mode "memory", the peak memory of one run (loss and gradients saved to
    ``result_file``); in mode "time", the median time of ``repeats`` runs."""
    import torch

    from softmax_ce.memory import peak_rss_growth_mb

    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    hidden = torch.randn(n, d, dtype=dtype).requires_grad_()
    weight = (torch.randn(v, d, dtype=dtype) / d**0.5).requires_grad_()
    target = torch.randint(0, v, (n,))
    fn = loss_fn(method, torch_chunk_size)

    def step(h=hidden, t=target):
        hidden.grad = weight.grad = None
        loss = fn(h, weight, t)
        loss.backward()
        return loss

    step(hidden[:8].detach().requires_grad_(), target[:8])  # warm-up: thread pools, BLAS buffers
    hidden.grad = weight.grad = None
    if mode == "memory":
        loss, peak_mb = peak_rss_growth_mb(step)
        if peak_mb is None:
            sys.exit("this system reports no peak memory (no /proc, no resource module): measure memory on Linux or macOS")
        torch.save({"loss": loss.detach(), "grad_hidden": hidden.grad, "grad_weight": weight.grad}, result_file)
        return {"peak_mb": round(peak_mb, 1)}
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return {"seconds": round(statistics.median(seconds), 4), "seconds_runs": [round(x, 4) for x in seconds]}


def measure(method, n, d, v, dtype, repeats, result_file, torch_chunk_size, modes=("memory", "time")):
    """Measure ``method``'s memory and its time, each in a fresh Python process."""
    result = {}
    for mode in modes:
        env = dict(os.environ)
        if mode == "memory":
            env["MALLOC_MMAP_THRESHOLD_"] = "65536"
        code = ("import json, runpy; b = runpy.run_path(" + repr(str(pathlib.Path(__file__).resolve())) + "); "
                f"print(json.dumps(b['run_one']({method!r}, {n}, {d}, {v}, {dtype!r}, {repeats}, {str(result_file)!r}, "
                f"{mode!r}, {torch_chunk_size!r})))")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return result


def compare(results, folder):
    """Largest relative difference of each method's loss and gradients to the naive path's."""
    import torch

    loaded = {m: torch.load(folder / f"{m}.pt") for m in results}
    ref = loaded["naive"]
    for method, got in loaded.items():
        worst = 0.0
        for key in ("loss", "grad_hidden", "grad_weight"):
            a, b = got[key].double(), ref[key].double()
            worst = max(worst, ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item())
        results[method]["max_rel_diff"] = float(f"{worst:.3g}")


RECORD = ROOT / "notebooks" / "softmax_ce" / "recorded" / "large_vocab.json"
RECORD_SWEEP = {"n": 1024, "d": 256, "v": "2048,4096,8192", "dtype": "float32", "repeats": 5,
                "methods": "naive,ours,torch_chunked,torch_chunked_256"}


def shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def machine():
    """What the numbers depend on: the processor, its cores, the versions."""
    import platform

    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": numpy.__version__, "system": platform.system()}


def sweep(args):
    """{method: [result for each V]} for every method and vocabulary size, each measured in fresh processes."""
    methods = args.methods.split(",")
    if "naive" not in methods:
        methods.insert(0, "naive")
    rows = {m: [] for m in methods}
    for v in [int(x) for x in str(args.v).split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            results = {m: measure(m, args.n, args.d, v, args.dtype, args.repeats, folder / f"{m}.pt", args.torch_chunk_size)
                       for m in methods}
            compare(results, folder)
        print(f"N={args.n} tokens, D={args.d}, V={v}, {args.dtype}: forward + backward, each method in a fresh process")
        nbytes = {"bfloat16": 2, "float32": 4, "float64": 8}[args.dtype]
        print(f"(the (N x V) logits alone are {args.n * v * nbytes / 2**20:.0f} MiB)")
        print(f"{'method':18} {'peak MiB':>9} {'vs naive':>9} {'seconds':>9} {'vs naive':>9} {'max rel. diff':>14}")
        naive = results["naive"]
        for method, r in results.items():
            print(f"{method:18} {r['peak_mb']:9.1f} {naive['peak_mb'] / max(r['peak_mb'], 1e-9):8.1f}x {r['seconds']:9.3f} "
                  f"{r['seconds'] / naive['seconds']:8.2f}x {r['max_rel_diff']:14.2e}")
            rows[method].append({"v": v, **r})
    print("('vs naive': peak memory as naive / method, time as method / naive; seconds: median of "
          f"{args.repeats} runs)")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4096, help="tokens (rows of hidden states)")
    parser.add_argument("--d", type=int, default=256, help="hidden size")
    parser.add_argument("--v", default="32768", help="vocabulary size, or a comma-separated list of sizes")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, from {', '.join(METHODS)}, and torch_chunked_<rows> (a fixed chunk size)")
    parser.add_argument("--torch-chunk-size", type=int, default=None, help="batch_chunk_size for torch_chunked (default: auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--record", action="store_true",
                        help=f"run notebook 09's sweep and write it to {shown(RECORD)}")
    args = parser.parse_args(argv)
    if args.record:
        given = [f"--{k.replace('_', '-')}" for k in (*RECORD_SWEEP, "torch_chunk_size") if getattr(args, k) != parser.get_default(k)]
        if given:
            parser.error(f"--record runs notebook 09's own sweep; leave out {', '.join(given)}")
        for key, value in RECORD_SWEEP.items():
            setattr(args, key, value)
    try:
        [int(x) for x in str(args.v).split(",")]
    except ValueError:
        parser.error(f"--v must be a size or a comma-separated list of sizes, such as 2048,4096; got {args.v!r}")
    rows = sweep(args)
    shape = {"n": args.n, "d": args.d, "dtype": args.dtype, "repeats": args.repeats}
    if args.record:
        RECORD.parent.mkdir(exist_ok=True)
        record = {"command": "python benchmarks/large_vocab.py --record", "shape": shape, "machine": machine(), "results": rows}
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded in {shown(RECORD)}: run `make outputs NB=notebooks/09_large_vocabulary.ipynb` to show it")
    if args.json:
        results = {m: r[-1] for m, r in rows.items()}
        results["shape"] = {**shape, "v": rows["naive"][-1]["v"]}
        print(json.dumps(results))
    return rows


if __name__ == "__main__":
    main()
