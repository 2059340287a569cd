"""Cross-entropy with the vocabulary split across processes (notebook 11), on ``torch.distributed`` with gloo.

Each of P ranks holds the rows ``shard_ranges(V, P)[rank]`` of the output weight W (V × D), and the same hidden
states H (N × D) and targets t. The loss never gathers the N × V logits: per row, the ranks merge their shards'
(max, Σ exp, Σ_c q_c z_c) with three all-reduces (MAX, SUM, SUM), which is notebook 09's merge of (max, sum) pairs
done across processes. The backward pass of the loss needs no communication: each rank's softmax is
exp(z − m) / s from the merged statistics it already has.

- ``shard_sizes``, ``shard_ranges``, ``owner_rank``: how V classes are split over P ranks (sizes differ by at most 1);
- ``shard_statistics``, ``combine_shard_statistics``: the algorithm in NumPy, every "rank" in one process;
- ``vocab_parallel_linear_cross_entropy``: cross_entropy(H Wᵀ + b, t) from this rank's shard of W (and b);
- ``launch``: run a function in P fresh processes (spawn), a gloo process group on 127.0.0.1, with a timeout;
- ``count_collectives``, ``bytes_sent``: what a step communicates, counted at the ``torch.distributed`` calls and
  in the kernel's count of bytes this process wrote (Linux);
- ``compare_with_single_process`` and friends: the functions the ranks run in notebook 11 and its tests.

``python -m softmax_ce.parallel`` under ``torchrun --nproc-per-node 2`` runs the comparison with real launching.
"""

import contextlib
import datetime
import io
import json
import os
import pickle
import queue
import signal
import sys
import time
import traceback
from importlib import resources

import numpy as np
import torch
import torch.distributed as dist

from . import validation as check
from .large_vocab import ChunkedLinearCrossEntropy, _check_args

# ----------------------------------------------------------------------------- how the vocabulary is split


def shard_sizes(vocab_size, world_size):
    """Sizes of P shards of V classes, as even as possible: the first V mod P ranks get ⌊V/P⌋ + 1, the rest ⌊V/P⌋."""
    check.positive_int(vocab_size, "vocab_size")
    check.positive_int(world_size, "world_size")
    if world_size > vocab_size:
        raise ValueError(f"cannot split V={vocab_size} classes over P={world_size} ranks: each rank needs at least one "
                         f"class; use at most {vocab_size} ranks")
    base, extra = divmod(vocab_size, world_size)
    return [base + (rank < extra) for rank in range(world_size)]


def shard_ranges(vocab_size, world_size, sizes=None):
    """[(start, stop), ...]: rank r holds classes start … stop − 1; ``sizes`` (one per rank, summing to V) or even."""
    sizes = shard_sizes(vocab_size, world_size) if sizes is None else _checked_sizes(sizes, vocab_size, world_size)
    stops = np.cumsum(sizes).tolist()
    return [(stop - size, stop) for size, stop in zip(sizes, stops)]


def _checked_sizes(sizes, vocab_size, world_size):
    sizes = list(sizes)
    if len(sizes) != world_size:
        raise ValueError(f"shard_sizes has {len(sizes)} entries for {world_size} ranks: give one size per rank")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise TypeError(f"shard_sizes must be whole numbers (ints), one per rank, got {sizes}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"shard_sizes must give every rank at least 1 class, got {sizes}")
    if sum(sizes) != vocab_size:
        raise ValueError(f"shard_sizes {sizes} add up to {sum(sizes)}, not to the vocabulary size V={vocab_size}")
    return [int(s) for s in sizes]


def owner_rank(target, vocab_size, world_size):
    """The rank whose shard holds each class index in ``target`` (even split): the one rank whose gradient gets −1."""
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= vocab_size):
        bad = t.min() if t.min() < 0 else t.max()
        raise ValueError(f"target {bad} is out of range for {vocab_size} classes")
    stops = np.array([stop for _, stop in shard_ranges(vocab_size, world_size)])
    return np.searchsorted(stops, t, side="right")


# ----------------------------------------------------------------------------- the algorithm in NumPy


def shard_statistics(logits_shard, target, start):
    """One rank's summary of its logits shard (N × V_r) holding classes start …: (max m_r, Σ exp(z − m_r), z_t or 0)."""
    z = check.float_array(logits_shard, "logits_shard")
    if z.ndim != 2:
        raise ValueError(f"logits_shard must be (N, V_r), got shape {z.shape}")
    t = np.asarray(target)
    if t.shape != (z.shape[0],):
        raise ValueError(f"target must have shape ({z.shape[0]},), one class per row; got {t.shape}")
    m = z.max(axis=1)
    m_safe = np.where(np.isfinite(m), m, 0.0)  # a row masked in this whole shard (all −inf): s = 0, it adds nothing
    s = np.exp(z - m_safe[:, None]).sum(axis=1)
    mine = (t >= start) & (t < start + z.shape[1])
    z_t = np.where(mine, z[np.arange(len(t)), np.where(mine, t - start, 0)], 0.0)
    return m, s, z_t


def combine_shard_statistics(maxes, sums, target_logits):
    """Per-row loss from P ranks' statistics, each (P, N): m = max_r m_r, s = Σ_r s_r e^{m_r − m}, ℓ = m + log s − Σ_r z_t,r."""
    m_r, s_r, z_r = (check.float_array(a, name) for a, name in ((maxes, "maxes"), (sums, "sums"), (target_logits, "target_logits")))
    if not (m_r.shape == s_r.shape == z_r.shape):
        raise ValueError(f"maxes, sums and target_logits must have one shape (P, N); got {m_r.shape}, {s_r.shape}, {z_r.shape}")
    m = m_r.max(axis=0)
    with np.errstate(invalid="ignore"):  # a masked shard: 0 · e^{−inf − m} = 0
        s = np.where(s_r == 0, 0.0, s_r * np.exp(m_r - m)).sum(axis=0)
    return m + np.log(s) - z_r.sum(axis=0)


# ----------------------------------------------------------------------------- the loss on torch.distributed


class _Shard:
    """Which classes this rank holds, and how it merges its row statistics with the other ranks'."""

    def __init__(self, start, vocab_size, group):
        self.start, self.vocab_size, self.group = start, vocab_size, group

    def all_reduce(self, tensor, op):
        op = dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM
        dist.all_reduce(tensor, op=op, group=self.group)  # in place, on every rank of the group
        return tensor


class _CopyToVocabParallel(torch.autograd.Function):
    """Identity forward; backward sums the ranks' parts of ∂L/∂H = Σ_r G_r W_r (Megatron's "f").

    The hidden states' gradient needs every shard: the linear layer's communication, not the loss's.
    """

    @staticmethod
    def forward(ctx, input, group):
        ctx.group = group
        return input.view_as(input)

    @staticmethod
    def backward(ctx, grad_output):
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None


def vocab_parallel_linear_cross_entropy(input, linear_weight, target, *, vocab_size, shard_sizes=None, group=None,
                                        linear_bias=None, reduction="mean", ignore_index=-100, label_smoothing=0.0,
                                        chunk_size=None):
    """cross_entropy(input @ Wᵀ + b, target) where this rank holds only its shard of W (and b): V_r × D rows.

    input (N, D) and target (N,) are the same on every rank of ``group`` (default: all ranks); ``linear_weight``
    (V_r, D) holds classes ``shard_ranges(vocab_size, P, shard_sizes)[rank]``. Forward: three all-reduces of N
    numbers per chunk of ``chunk_size`` rows (default: all N rows, so a rank holds N × V_r logits; with chunks, at
    most chunk_size × V_r). Backward: none for the loss; one all-reduce of N × D when ``input`` requires grad,
    because ∂L/∂H sums every shard's contribution. Returns the loss (every rank the same), as ``F.cross_entropy``.
    """
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("torch.distributed is not initialised: run this inside softmax_ce.parallel.launch(...) or "
                           "under torchrun; for one process use softmax_ce.large_vocab.linear_cross_entropy")
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    if rank < 0:
        raise ValueError("this process is not a member of `group`: only its ranks may call the loss")
    check.positive_int(vocab_size, "vocab_size")
    ranges = shard_ranges(vocab_size, world, shard_sizes)  # every rank checks the split before any collective
    if chunk_size is not None:
        check.positive_int(chunk_size, "chunk_size")
    rows = input.shape[0] if isinstance(input, torch.Tensor) and input.ndim == 2 else 1
    chunk = max(rows, 1) if chunk_size is None else chunk_size
    _check_args(input, linear_weight, linear_bias, target, reduction, ignore_index, label_smoothing, chunk,
                vocab_size=vocab_size)
    start, stop = ranges[rank]
    if linear_weight.shape[0] != stop - start:
        raise ValueError(f"rank {rank} of {world} holds {linear_weight.shape[0]} rows of the weight, but its shard of "
                         f"V={vocab_size} is classes {start}..{stop - 1} ({stop - start} rows); the shard sizes are "
                         f"{[b - a for a, b in ranges]}")
    target = target.long()
    if input.requires_grad and torch.is_grad_enabled():
        input = _CopyToVocabParallel.apply(input, group)
    return ChunkedLinearCrossEntropy.apply(input, linear_weight, linear_bias, target, reduction, ignore_index,
                                           float(label_smoothing), chunk, _Shard(start, vocab_size, group))


# ----------------------------------------------------------------------------- what a step communicates

COLLECTIVES = ("all_reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor",
               "broadcast", "reduce", "gather", "scatter", "all_to_all", "all_to_all_single", "send", "recv",
               "isend", "irecv", "barrier")


@contextlib.contextmanager
def count_collectives():
    """Record every ``torch.distributed`` collective called inside: a list of (name, op, numel, bytes) entries."""
    calls, originals = [], {name: getattr(dist, name) for name in COLLECTIVES if hasattr(dist, name)}

    def counting(name, original):
        def call(*args, **kwargs):
            tensor = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("tensor")
            op = kwargs.get("op", args[1] if name in ("all_reduce", "reduce") and len(args) > 1 else None)
            op = str(op).rsplit(".", 1)[-1].lower() if op is not None else ("sum" if name in ("all_reduce", "reduce") else "")
            numel = tensor.numel() if isinstance(tensor, torch.Tensor) else 0
            calls.append((name, op, numel, numel * tensor.element_size() if numel else 0))
            return original(*args, **kwargs)
        return call

    for name, original in originals.items():
        setattr(dist, name, counting(name, original))
    try:
        yield calls
    finally:
        for name, original in originals.items():
            setattr(dist, name, original)


def bytes_sent():
    """How many bytes this process has written so far (sockets included), from /proc/self/io; None where there is none."""
    try:
        with open("/proc/self/io") as stats:
            return next(int(line.split()[1]) for line in stats if line.startswith("wchar:"))
    except (OSError, StopIteration, ValueError):
        return None


def ring_all_reduce_bytes(numel, world_size, bytes_per_number):
    """Bytes one rank sends in a ring all-reduce of ``numel`` numbers: 2 (P − 1) / P of the tensor (0 for P = 1).

    Exact when P divides ``numel``; otherwise the ring's pieces differ by one number, the ranks send slightly
    different amounts, and this is rounded down."""
    return 2 * (world_size - 1) * numel * bytes_per_number // world_size


def ring_all_gather_bytes(numel, world_size, bytes_per_number):
    """Bytes one rank sends in a ring all-gather that assembles ``numel`` numbers from P equal shards: (P − 1) / P of them
    (rounded down when P does not divide ``numel``)."""
    return (world_size - 1) * numel * bytes_per_number // world_size


# ----------------------------------------------------------------------------- launching ranks


class RankFailed(RuntimeError):
    """A rank raised. ``errors`` maps each rank that reported to its error's text ("ValueError: ..."), in the order
    they arrived: the first is the cause; ranks waiting for it in a collective fail after it ("Connection closed")."""

    def __init__(self, errors, tracebacks, world_size):
        self.errors, self.tracebacks = errors, tracebacks
        self.rank = first = next(iter(errors))
        same = [r for r in errors if r != first and errors[r] == errors[first]]
        after = [r for r in errors if r != first and errors[r] != errors[first]]
        lines = [f"rank {first} of {world_size} failed: {errors[first]}"]
        if same:
            lines.append(f"ranks {', '.join(map(str, sorted(same)))} raised the same error")
        if after:
            lines.append(f"then ranks {', '.join(map(str, sorted(after)))} stopped too, e.g. {errors[after[0]][:200]}")
        super().__init__("\n".join(lines) + f"\n\nrank {first}'s traceback:\n{tracebacks[first]}")


_LOOPBACK = {"linux": "lo", "darwin": "lo0"}


def _rank_main(fn, args, rank, world_size, port, timeout, threads, results):
    """One rank, in its own process: join the process group through the parent's store, run fn(*args), report.

    An error is reported with the time it happened, before the process group closes: the ranks that were waiting
    for this one fail only once its connections close, later, so the parent can tell the cause from the echoes.
    """
    try:
        ifname = _LOOPBACK.get(sys.platform)
        if ifname and "GLOO_SOCKET_IFNAME" not in os.environ:
            os.environ["GLOO_SOCKET_IFNAME"] = ifname  # this process's own setting: gloo listens on loopback only
        torch.set_num_threads(threads)
        td = datetime.timedelta(seconds=timeout)
        store = dist.TCPStore("127.0.0.1", port, is_master=False, timeout=td)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=td)
        out = fn(*args)
        buffer = io.BytesIO()
        torch.save(out, buffer)
        dist.destroy_process_group()
        results.put((rank, "ok", buffer.getvalue(), "", time.time()))
    except BaseException as err:  # noqa: BLE001 - the parent reports every rank's error, whatever it is
        results.put((rank, "error", f"{type(err).__name__}: {err}", traceback.format_exc(), time.time()))
        results.close()
        results.join_thread()  # the message is in the pipe before this process exits and its connections close


def launch(fn, world_size, *args, timeout=60.0, threads=1, grace=1.0):
    """Run ``fn(*args)`` in ``world_size`` fresh processes, each one rank of a gloo process group; their results, by rank.

    The processes start with the spawn method (fresh interpreters, as on macOS and Windows), so ``fn`` must be
    importable from a module, and its results travel back with ``torch.save``. They meet on 127.0.0.1 through a
    store this process opens on a free port. If a rank raises, the others are stopped ``grace`` seconds later
    (a rank waiting for it in a collective would wait until the process group's timeout) and ``RankFailed`` says
    which rank failed with what; after ``timeout`` seconds, ``TimeoutError``. Either way, and on success, no process
    is left running and the port is closed.
    """
    import multiprocessing

    if not callable(fn):
        raise TypeError(f"fn must be a function, got {type(fn).__name__}")
    interactive = fn.__module__ == "__main__" and not hasattr(sys.modules["__main__"], "__file__")
    name = getattr(fn, "__qualname__", "")
    if interactive or "<locals>" in name or "<lambda>" in name:
        raise TypeError(f"{name} is defined in a notebook (or inside a function, or as a lambda), and a fresh process "
                        "cannot import it: put it in a .py file as a def and import it from there")
    check.positive_int(world_size, "world_size")
    check.finite_number(timeout, "timeout", low=0, low_open=True)
    check.positive_int(threads, "threads")
    td = datetime.timedelta(seconds=timeout)
    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=td)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    procs = [context.Process(target=_rank_main, args=(fn, args, rank, world_size, store.port, timeout, threads, results),
                             name=f"softmax-ce-rank-{rank}", daemon=True) for rank in range(world_size)]
    outputs, errors, tracebacks, times = {}, {}, {}, {}
    try:
        try:
            for p in procs:
                p.start()
        except (pickle.PicklingError, AttributeError, TypeError) as err:  # spawn pickles fn and args for each process
            raise TypeError(f"cannot send fn and its arguments to a fresh process: {type(err).__name__}: {err}; pass "
                            "functions defined in a .py file and plain data (numbers, strings, lists, tensors)") from err
        deadline, stop_at = time.monotonic() + timeout, None
        while len(outputs) + len(errors) < world_size:
            now = time.monotonic()
            if stop_at is not None and now >= stop_at:
                break
            if now >= deadline:
                waiting = [r for r in range(world_size) if r not in outputs and r not in errors]
                raise TimeoutError(f"ranks {waiting} of {world_size} had not finished after {timeout:g} s: stopped them "
                                   "(a collective that not every rank reaches waits until the process group's timeout)")
            try:
                rank, status, payload, trace, when = results.get(timeout=0.05)
            except queue.Empty:
                for rank, p in enumerate(procs):  # a rank that died without a word (killed, out of memory, ...)
                    if p.exitcode not in (None, 0) and rank not in errors and rank not in outputs:
                        errors[rank] = f"the process {_exit_reason(p.exitcode)} without reporting (killed or crashed)"
                        tracebacks[rank] = "(none: the process did not report; its own output may say more)"
                        stop_at = stop_at or time.monotonic() + grace
                continue
            if status == "ok":
                outputs[rank] = torch.load(io.BytesIO(payload), weights_only=False)
            else:
                errors[rank], tracebacks[rank], times[rank] = payload, trace, when
                stop_at = stop_at or time.monotonic() + grace
        if errors:
            # the cause first, then its echoes: a rank that died without a word (it reported no time) is the likely
            # cause; a peer's closed connection is an echo whatever its time
            order = sorted(errors, key=lambda r: (r in times, _is_echo(errors[r]), times.get(r, 0.0)))
            raise RankFailed({r: errors[r] for r in order}, tracebacks, world_size)
        return [outputs[rank] for rank in range(world_size)]
    finally:
        try:
            _stop(procs)
            results.close()
            results.join_thread()
        finally:
            del store  # closes the port, whatever happened above


_ECHOES = ("Connection closed by peer", "Connection reset by peer")


def _is_echo(error):
    """Whether a rank's error is what gloo raises when another rank's process went away."""
    return any(echo in error for echo in _ECHOES)


def _exit_reason(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exited with code {code}"


def _stop(procs):
    started = [p for p in procs if p.pid is not None]  # a failed start leaves the rest unstarted
    for p in started:
        if p.is_alive():
            p.terminate()
    for p in started:
        p.join(2)
        if p.is_alive():
            p.kill()
            p.join(2)


# ----------------------------------------------------------------------------- what the ranks run


def make_problem(n, d, v, dtype=torch.float64, seed=0, ignored=0, bias=False):
    """The same seeded hidden states (N, D), weight (V, D), optional bias (V,) and targets (N,) on every rank."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, dtype=dtype)
    w = torch.randn(v, d, generator=g, dtype=dtype) / d**0.5
    b = torch.randn(v, generator=g, dtype=dtype) if bias else None
    t = torch.randint(0, v, (n,), generator=g)
    t[torch.randperm(n, generator=g)[:ignored]] = -100
    return h, w, b, t


def _rel(a, e):
    return 0.0 if a is None and e is None else ((a - e).abs().max() / e.abs().max().clamp(min=1e-300)).item()


def parallel_step(h, w, b, t, *, group=None, shard_sizes=None, **options):
    """One forward + backward of the vocab-parallel loss on this rank's shard; what it computed and communicated."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    start, stop = shard_ranges(w.shape[0], world, shard_sizes)[rank]
    h_r = h.clone().requires_grad_()
    w_r = w[start:stop].clone().requires_grad_()
    b_r = None if b is None else b[start:stop].clone().requires_grad_()
    sent, steps = {}, {}
    for phase in ("forward", "backward"):
        before = bytes_sent()
        with count_collectives() as calls:
            if phase == "forward":
                loss = vocab_parallel_linear_cross_entropy(h_r, w_r, t, vocab_size=w.shape[0], shard_sizes=shard_sizes,
                                                           group=group, linear_bias=b_r, **options)
            else:
                (loss if loss.ndim == 0 else (loss * torch.linspace(0.5, 2, len(loss), dtype=loss.dtype)).sum()).backward()
        after = bytes_sent()
        sent[phase] = None if before is None else after - before
        steps[phase] = list(calls)
    return {"rank": rank, "world_size": world, "start": start, "stop": stop, "loss": loss.detach(),
            "grad_input": h_r.grad, "grad_weight": w_r.grad, "grad_bias": None if b_r is None else b_r.grad,
            "collectives": steps, "bytes_sent": sent}


def single_process_reference(h, w, b, t, reduction="mean", ignore_index=-100, label_smoothing=0.0, **_):
    """The same loss and gradients from torch in one process: F.cross_entropy(F.linear(h, W, b), t)."""
    import torch.nn.functional as F

    h, w = h.clone().requires_grad_(), w.clone().requires_grad_()
    b = None if b is None else b.clone().requires_grad_()
    loss = F.cross_entropy(F.linear(h, w, b), t, reduction=reduction, ignore_index=ignore_index,
                           label_smoothing=label_smoothing)
    (loss if loss.ndim == 0 else (loss * torch.linspace(0.5, 2, len(loss), dtype=loss.dtype)).sum()).backward()
    return {"loss": loss.detach(), "grad_input": h.grad, "grad_weight": w.grad, "grad_bias": None if b is None else b.grad}


def compare_with_single_process(cases, world_sizes=None):
    """For each case (a dict: n, d, v, dtype, bias, ignored, options) and each P in ``world_sizes`` (default: the
    launch's size), ranks 0 … P − 1 compute the vocab-parallel step and compare it with the single-process one.

    Every rank creates every group, in the same order (torch.distributed requires it); ranks ≥ P sit that P out.
    Returns, for this rank, a list of records: case index, P, relative differences, collectives, bytes sent.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes = list(world_sizes or [world])
    groups = {p: dist.new_group(list(range(p))) for p in sizes}
    records = []
    for index, case in enumerate(cases):
        h, w, b, t = make_problem(case["n"], case["d"], case["v"], dtype=case.get("dtype", torch.float64),
                                  seed=case.get("seed", 0), ignored=case.get("ignored", 0), bias=case.get("bias", False))
        options = case.get("options", {})
        want = single_process_reference(h, w, b, t, **options)
        for p in sizes:
            if rank >= p:
                continue
            got = parallel_step(h, w, b, t, group=groups[p], **options)
            s, e = got["start"], got["stop"]
            records.append({
                "case": index, "world_size": p, "rank": rank, "shard": (s, e),
                "loss": _rel(got["loss"], want["loss"]),
                "grad_input": _rel(got["grad_input"], want["grad_input"]),
                "grad_weight": _rel(got["grad_weight"], want["grad_weight"][s:e]),
                "grad_bias": None if b is None else _rel(got["grad_bias"], want["grad_bias"][s:e]),
                "collectives": got["collectives"], "bytes_sent": got["bytes_sent"],
            })
    return records


def compare_with_loss_parallel(n, d, v, dtype=torch.float64):
    """Ours against torch's ``loss_parallel`` (DTensor logits sharded over classes), on DTensor's own split.

    DTensor splits like ``torch.chunk``: ⌈V/P⌉ classes per rank, the last ones fewer; ours is given the same sizes.
    (``loss_parallel`` takes no ``label_smoothing``: torch 2.13 raises on it.)
    Returns this rank's shard sizes and the relative differences of the loss and of the weight shard's gradient.
    """
    import torch.nn.functional as F
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Replicate, Shard
    from torch.distributed.tensor.parallel import loss_parallel

    rank, world = dist.get_rank(), dist.get_world_size()
    h, w, _, t = make_problem(n, d, v, dtype=dtype)
    sizes = [len(c) for c in torch.arange(v).chunk(world)]
    if len(sizes) != world:
        raise ValueError(f"torch.chunk splits V={v} into {len(sizes)} pieces, not {world}: DTensor leaves a rank empty")
    start, stop = shard_ranges(v, world, sizes)[rank]
    mesh = init_device_mesh("cpu", (world,))
    w_theirs = w[start:stop].clone().requires_grad_()
    logits = DTensor.from_local(h @ w_theirs.T, mesh, [Shard(1)], shape=torch.Size([n, v]), stride=(v, 1))
    with loss_parallel():
        theirs = F.cross_entropy(logits, DTensor.from_local(t, mesh, [Replicate()]))
        theirs.backward()
    w_ours = w[start:stop].clone().requires_grad_()
    ours = vocab_parallel_linear_cross_entropy(h, w_ours, t, vocab_size=v, shard_sizes=sizes)
    ours.backward()
    theirs = theirs.full_tensor().detach() if isinstance(theirs, DTensor) else theirs.detach()
    return {"rank": rank, "sizes": sizes, "loss": _rel(ours.detach(), theirs), "grad_weight": _rel(w_ours.grad, w_theirs.grad)}


def run_each(calls):
    """Several of this module's rank functions in one launch (one start-up instead of several): [(fn, args), ...]."""
    return [fn(*args) for fn, args in calls]


def raise_in_rank(bad_rank, message="this rank failed on purpose"):
    """For the tests and notebook 11: rank ``bad_rank`` raises; the others wait in an all-reduce that never completes."""
    if dist.get_rank() == bad_rank:
        raise ValueError(message)
    x = torch.ones(1)
    dist.all_reduce(x)
    return x.item()


def wait_forever():
    """For the timeout test: every rank blocks in an all-reduce that rank 0 never joins."""
    if dist.get_rank() != 0:
        dist.all_reduce(torch.ones(1))
    time.sleep(3600)


def rank_loss(n, d, v, options=None, shard_sizes=None):
    """This rank's vocab-parallel loss on the seeded problem (the bad-input tests give it wrong options)."""
    h, w, _, t = make_problem(n, d, v)
    world, rank = dist.get_world_size(), dist.get_rank()
    sizes = list(shard_sizes) if shard_sizes else [len(a) for a in np.array_split(np.arange(v), world)]  # P > V: empty
    start, size = sum(sizes[:rank]), sizes[rank] if rank < len(sizes) else 0
    return vocab_parallel_linear_cross_entropy(h, w[start:start + size], t, vocab_size=v, shard_sizes=shard_sizes,
                                               **(options or {})).item()


# ----------------------------------------------------------------------------- the recorded benchmark


def recorded_benchmark():
    """What ``python benchmarks/vocab_parallel.py --record`` measured (notebook 11's table and figure)."""
    text = resources.files(__package__).joinpath("recorded", "vocab_parallel.json").read_text(encoding="utf-8")
    return json.loads(text)


def _torchrun_main():
    """Under torchrun: compare with the single process for this world size, and print one line per rank."""
    ifname = _LOOPBACK.get(sys.platform)
    if ifname and "GLOO_SOCKET_IFNAME" not in os.environ:
        os.environ["GLOO_SOCKET_IFNAME"] = ifname
    dist.init_process_group("gloo")
    try:
        cases = [{"n": 64, "d": 16, "v": 1001, "ignored": 5, "bias": True,
                  "options": {"label_smoothing": 0.1, "chunk_size": 24}}]
        for r in compare_with_single_process(cases):
            calls = r["collectives"]
            print(f"rank {r['rank']} of {r['world_size']}: classes {r['shard'][0]}..{r['shard'][1] - 1}; largest relative "
                  f"difference from one process: loss {r['loss']:.1e}, grad of H {r['grad_input']:.1e}, grad of its W "
                  f"shard {r['grad_weight']:.1e}; collectives: {len(calls['forward'])} forward (3 per chunk of 24 rows), "
                  f"{len(calls['backward'])} backward\n", end="", flush=True)  # one write: ranks share the terminal
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _torchrun_main()
