"""Rank functions for tests/unit/test_parallel.py that softmax_ce.parallel does not have.

``softmax_ce.parallel.launch`` starts its ranks with the spawn method, so a rank function must be importable in a
fresh interpreter. This module is: pytest puts tests/ on ``sys.path`` (pyproject.toml's ``pythonpath``), and a
spawned child starts with its parent's ``sys.path``, so it imports ``parallel_ranks`` by that name too. (A function
of a test module would drag pytest and the test's imports into every rank.)

Every function creating process groups is run by every rank of the launch, and creates the same groups in the same
order (torch.distributed requires it); ranks ≥ P sit that P out, as in ``compare_with_single_process``.
"""

import os
import signal
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

from softmax_ce import parallel as P

LOSS_OPTIONS = ("reduction", "ignore_index", "label_smoothing")


def rel(a, e):
    """Largest difference relative to the largest magnitude of the expected tensor (as the module's records)."""
    return ((a - e).abs().max() / e.abs().max().clamp(min=1e-300)).item()


def weighted(loss):
    """The backward's objective: the loss itself, or for reduction='none' a different weight for every row."""
    return loss if loss.ndim == 0 else (loss * torch.linspace(0.5, 2, len(loss), dtype=loss.dtype)).sum()


def _problem(case):
    h, w, b, t = P.make_problem(case["n"], case["d"], case["v"], dtype=case.get("dtype", torch.float64),
                                seed=case.get("seed", 0), ignored=case.get("ignored", 0), bias=case.get("bias", False))
    return h, w, b, t, case.get("options", {})


def _reference(h, w, b, t, options, leaves=("h", "w", "b")):
    """F.cross_entropy(F.linear(h, W, b), t) in this process: the loss and the gradients of ``leaves``."""
    tensors = {"h": h.clone().requires_grad_("h" in leaves), "w": w.clone().requires_grad_("w" in leaves),
               "b": None if b is None else b.clone().requires_grad_("b" in leaves)}
    loss = F.cross_entropy(F.linear(tensors["h"], tensors["w"], tensors["b"]), t,
                           **{k: v for k, v in options.items() if k in LOSS_OPTIONS})
    wanted = [name for name in leaves if tensors[name] is not None]
    grads = torch.autograd.grad(weighted(loss), [tensors[name] for name in wanted]) if wanted else ()
    return loss.detach(), dict(zip(wanted, grads))


def _shard(h, w, b, rank, world, shard_sizes=None, leaves=("h", "w", "b")):
    start, stop = P.shard_ranges(w.shape[0], world, shard_sizes)[rank]
    tensors = {"h": h.clone().requires_grad_("h" in leaves), "w": w[start:stop].clone().requires_grad_("w" in leaves),
               "b": None if b is None else b[start:stop].clone().requires_grad_("b" in leaves)}
    return tensors, (start, stop)


def _loss(tensors, t, v, group, options):
    return P.vocab_parallel_linear_cross_entropy(tensors["h"], tensors["w"], t, vocab_size=v, group=group,
                                                 linear_bias=tensors["b"], **options)


def my_groups(world_sizes):
    """[(P, group of ranks 0 … P − 1)] for each P this rank is in; every rank creates every group, in the same order."""
    groups = {p: dist.new_group(list(range(p))) for p in world_sizes}
    return [(p, groups[p]) for p in world_sizes if dist.get_rank() < p]


def repeated_backward(case, world_sizes):
    """For each P: two backward passes through one graph (the first with retain_graph), and a loss times 3.

    Returns this rank's records: the first gradients against F.cross_entropy's, the largest difference between
    the second and the first, the tripled loss's gradients against 3 × torch's, and the second backward's
    collectives.
    """
    rank = dist.get_rank()
    h, w, b, t, options = _problem(case)
    _, want = _reference(h, w, b, t, options)
    records = []
    for p, group in my_groups(world_sizes):
        tensors, (s, e) = _shard(h, w, b, rank, p)
        names = [name for name in ("h", "w", "b") if tensors[name] is not None]
        leaves = [tensors[name] for name in names]
        expected = [want[name] if name == "h" else want[name][s:e] for name in names]
        loss = _loss(tensors, t, case["v"], group, options)
        first = torch.autograd.grad(weighted(loss), leaves, retain_graph=True)
        with P.count_collectives() as second_calls:
            second = torch.autograd.grad(weighted(loss), leaves)
        tripled = torch.autograd.grad(weighted(_loss(tensors, t, case["v"], group, options)) * 3, leaves)
        records.append({
            "world_size": p, "rank": rank,
            "first": {n: rel(a, x) for n, a, x in zip(names, first, expected)},
            "second_minus_first": {n: (a2 - a1).abs().max().item() for n, a1, a2 in zip(names, first, second)},
            "tripled": {n: rel(a, 3 * x) for n, a, x in zip(names, tripled, expected)},
            "second_collectives": list(second_calls),
        })
    return records


def without_input_grad(case, world_sizes):
    """For each P: the step when H does not require grad (only W and b do), and the loss under torch.no_grad().

    Returns this rank's records: the loss's and gradients' differences from F.cross_entropy, and the collectives
    of each phase ("forward", "backward", "no_grad").
    """
    rank = dist.get_rank()
    h, w, b, t, options = _problem(case)
    want_loss, want = _reference(h, w, b, t, options, leaves=("w", "b"))
    records = []
    for p, group in my_groups(world_sizes):
        tensors, (s, e) = _shard(h, w, b, rank, p, leaves=("w", "b"))
        calls = {}
        with P.count_collectives() as calls["forward"]:
            loss = _loss(tensors, t, case["v"], group, options)
        with P.count_collectives() as calls["backward"]:
            weighted(loss).backward()
        with torch.no_grad(), P.count_collectives() as calls["no_grad"]:
            loss_no_grad = _loss(tensors, t, case["v"], group, options)
        records.append({
            "world_size": p, "rank": rank, "collectives": calls, "grad_input": tensors["h"].grad,
            "loss": rel(loss.detach(), want_loss), "loss_no_grad": rel(loss_no_grad, want_loss),
            "no_grad_requires_grad": loss_no_grad.requires_grad,
            "grad_weight": rel(tensors["w"].grad, want["w"][s:e]),
            "grad_bias": None if b is None else rel(tensors["b"].grad, want["b"][s:e]),
        })
    return records


def loss_values(case, world_sizes):
    """For each P: this rank's vocab-parallel loss and F.cross_entropy's, as values (for a nan, where a difference
    says nothing), and the gradients' largest magnitudes."""
    rank = dist.get_rank()
    h, w, b, t, options = _problem(case)
    want_loss, want = _reference(h, w, b, t, options)
    records = []
    for p, group in my_groups(world_sizes):
        tensors, _ = _shard(h, w, b, rank, p)
        loss = _loss(tensors, t, case["v"], group, options)
        weighted(loss).backward()
        records.append({"world_size": p, "rank": rank, "loss": loss.detach(), "reference": want_loss,
                        "largest_gradient": max(tensors[n].grad.abs().max().item() for n in "hwb" if tensors[n] is not None),
                        "largest_reference_gradient": max(g.abs().max().item() for g in want.values())})
    return records


def rank_loss_with_target(n, d, v, target, shard_sizes=None):
    """Like ``softmax_ce.parallel.rank_loss``, with the given targets (a list of N class indices)."""
    h, w, _, _ = P.make_problem(n, d, v)
    start, stop = P.shard_ranges(v, dist.get_world_size(), shard_sizes)[dist.get_rank()]
    return P.vocab_parallel_linear_cross_entropy(h, w[start:stop], torch.tensor(target), vocab_size=v,
                                                 shard_sizes=shard_sizes).item()


def full_weight_in_every_rank(n, d, v):
    """Every rank passes the whole weight (V rows) instead of its shard."""
    h, w, _, t = P.make_problem(n, d, v)
    return P.vocab_parallel_linear_cross_entropy(h, w, t, vocab_size=v).item()


def outside_the_group(n, d, v):
    """Ranks 0 and 1 form a group; the other ranks call the loss with it, which they are not members of."""
    group = dist.new_group([0, 1])
    if dist.get_rank() < 2:
        return None
    h, w, _, t = P.make_problem(n, d, v)
    return P.vocab_parallel_linear_cross_entropy(h, w[:1], t, vocab_size=v, group=group).item()


def errors_of(calls):
    """Run each (name, fn, args) in this rank and return {name: "ErrorType: message"} (or "no error: result").

    Every rank runs every call: a call that checks its arguments in every rank before any collective raises in
    every rank and leaves the ranks in step; a last all-reduce shows that they are (its result, the world size,
    under "in step").
    """
    out = {}
    for name, fn, args in calls:
        try:
            out[name] = f"no error: {fn(*args)!r}"
        except Exception as err:  # noqa: BLE001 - the test reads the error's type and message
            out[name] = f"{type(err).__name__}: {err}"
    ones = torch.ones(1)
    dist.all_reduce(ones)
    out["in step"] = ones.item()
    return out


def kill_rank(bad_rank):
    """Rank ``bad_rank`` kills its own process with SIGKILL (as the out-of-memory killer would)."""
    if dist.get_rank() == bad_rank:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(torch.ones(1))


def raise_in_rank_stamped(bad_rank, stamp_file):
    """``softmax_ce.parallel.raise_in_rank(bad_rank)``, rank ``bad_rank`` first writing the time it raises to
    ``stamp_file`` (so that a test can time launch from the failure, not from the ranks' slow start-up)."""
    if dist.get_rank() == bad_rank:
        with open(stamp_file, "w") as stamp:
            stamp.write(repr(time.time()))
    return P.raise_in_rank(bad_rank)


def save_then(calls, out_dir, fn, args):
    """Run ``calls`` (as ``run_each``), save this rank's results to ``out_dir``/rank<r>.pt, then return ``fn(*args)``.

    For a launch that ends in a failure on purpose: the work before it still reaches the test, through the files.
    """
    results = P.run_each(calls)
    torch.save(results, os.path.join(out_dir, f"rank{dist.get_rank()}.pt"))
    return fn(*args)
