"""Checkers of notebook 11 (vocab_parallel): check_combine_stats, check_owner, check_bytes_per_step."""

import math

import numpy as np

from ._harness import NOT_DONE, _mismatch, _numbers, _run, _same, _shape_msg, _verdict


def _in_case(what, err):
    """The harness's message, naming the case when the learner's code ran on it (not for an unfinished stub)."""
    return f"for {what}: {err}" if err.startswith("your function") and err != NOT_DONE else err


def _combine_cases():
    """[(what, maxes, sums, target_logits)]: real logits split into shards, summarised by ``shard_statistics``."""
    from ..parallel import shard_ranges, shard_statistics

    rng = np.random.default_rng(11)
    far = rng.normal(0, 2, size=(3, 9))
    far[:, :3] -= 800.0  # rank 0's shard: its maxes are 800 below the others' (m = rank 0's max, or the min, overflows)
    wide = np.concatenate([1000 + rng.normal(0, 2, size=(4, 3)), rng.normal(0, 2, size=(4, 3))], axis=1)
    wide[[1, 2], :3] -= 2000.0  # row 0: both ranks near +1000; row 1: both near −1000;
    wide[[1, 3], 3:] -= 1000.0  # rows 2 and 3: one rank near +1000, the other near −1000
    wide[[0, 2], 3:] += 1000.0
    problems = [
        ("5 rows, V = 11 classes over P = 3 ranks", rng.normal(0, 3, size=(5, 11)), np.array([3, 10, 0, 7, 5]), 3),
        ("a rank whose maxes are 800 below the others' (rank 0)", far, np.array([1, 4, 8]), 3),
        ("logits around ±1000", wide, np.array([4, 0, 1, 5]), 2),
        ("a batch of one row (N = 1) over P = 4 ranks", rng.normal(0, 3, size=(1, 9)), np.array([8]), 4),
        ("P = 1 rank (it holds every class)", rng.normal(0, 3, size=(3, 5)), np.array([0, 4, 2]), 1),
        ("float32 logits around ±100", (rng.normal(0, 3, size=(4, 10)) + [[100], [-100], [0], [50]]).astype(np.float32),
         np.array([2, 9, 5, 0]), 2),
    ]
    cases = []
    for what, z, t, world in problems:
        stats = [shard_statistics(z[:, a:b], t, a) for a, b in shard_ranges(z.shape[1], world)]
        cases.append((what, *(np.stack(s) for s in zip(*stats))))
    return cases


def check_combine_stats(fn=None):
    """Exercise 11.1: ``fn(maxes, sums, target_logits)``, each (P, N) (rank r's max, Σ exp(z − m_r) and target logit,
    0 where rank r does not hold the target), is the per-row loss m + log Σ_r s_r e^(m_r − m) − Σ_r z_t,r, shape (N,)."""
    from ..parallel import combine_shard_statistics

    for what, maxes, sums, zt in _combine_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, maxes, sums, zt)
        if err:
            if "broadcast" in err:  # usually the max over the rows (axis=1), which does not broadcast against (P, N)
                err += (" (the ranks are axis 0: m = maxes.max(axis=0) has one value per row, shape (N,), and "
                        "broadcasts against the (P, N) arrays as it is)")
            return _verdict(False, _in_case(what, err))
        m_r, s_r, z_r = (a.astype(np.float64) for a in (maxes, sums, zt))
        want = combine_shard_statistics(m_r, s_r, z_r)
        p, n = maxes.shape
        if out.shape == (p,) and p != n:
            return _verdict(False, f"for {what} you return shape ({p},), one value per rank: you reduced over the rows "
                                   "(axis=1); merge over the ranks, axis=0, to get one loss per row, shape (N,)")
        if out.shape == () and n > 1:
            for total, how in ((want.mean(), "averaged"), (want.sum(), "added up")):
                if math.isclose(float(out), total, rel_tol=1e-6):
                    return _verdict(False, f"you {how} the losses of the rows into one number: return one loss per row, shape (N,)")
        if out.shape == () and n == 1:
            return _verdict(False, "for a batch of one row the maxes have shape (P, 1) and the loss must have shape (1,), "
                                   "got () (a squeeze() or x[0] dropped the batch axis?)")
        if msg := _shape_msg(out, want):
            return _verdict(False, f"for {what}: {msg} (one loss per row)")
        rtol, atol = (1e-5, 1e-4) if maxes.dtype == np.float32 else (1e-6, 1e-6)
        if _same(out, want, rtol=rtol, atol=atol):
            continue
        with np.errstate(all="ignore"):
            m = m_r.max(axis=0)
            log_s = np.log((s_r * np.exp(m_r - m)).sum(axis=0))
            whole = m_r.max()  # one max for the whole array
            hints = [
                (m + np.log(s_r.sum(axis=0)) - z_r.sum(axis=0),
                 "the sums were added as they are: each s_r is relative to its own rank's max m_r; rescale it by "
                 "e^(m_r − m) to the global max m first, s = Σ_r s_r e^(m_r − m)"),
                (m + log_s - z_r.max(axis=0),
                 "you took the max of the target logits over the ranks: the ranks that do not hold the target report 0, "
                 "so a negative target logit becomes 0. Add them up (Σ_r): only one rank holds it, the others add 0"),
                (m + log_s - z_r.mean(axis=0),
                 "you took the mean of the target logits over the ranks, which divides the target logit by P: add them "
                 "up (Σ_r), only one rank holds it and the others report 0"),
                (whole + np.log((s_r * np.exp(m_r - whole)).sum(axis=0)) - z_r.sum(axis=0),
                 "a row around −1000 gives −inf: you took one max for the whole array, so that row's exps underflow to 0. "
                 "Take each row's own max over the ranks, m = max_r m_r (axis=0)"),
                (m + log_s + z_r.sum(axis=0), "the sign of the target term is flipped: the loss is m + log s − z_t"),
                (-want, "the sign is flipped: the loss is m + log s − z_t, which is ≥ 0"),
                (log_s - z_r.sum(axis=0), "you forgot to add m back: log Σ exp(z) = m + log Σ exp(z − m), so the loss is "
                                          "m + log s − z_t"),
            ]
        for wrong, hint in hints:
            if not _same(wrong, want, rtol=rtol, atol=atol) and _same(out, wrong, rtol=rtol, atol=atol):
                return _verdict(False, f"for {what}: {hint}")
        if not np.all(np.isfinite(out)):
            return _verdict(False, f"for {what} you get inf/nan: e^(m_r) overflows (e^1000 is inf, and in float32 already "
                                   "e^89). Subtract the largest max first, m = max_r m_r: s = Σ_r s_r e^(m_r − m) has every "
                                   "e^(m_r − m) ≤ 1; then loss = m + log s − z_t")
        return _verdict(False, f"for {what}: {_mismatch(out, want)}")
    return _verdict(True, "m = max_r m_r, s = Σ_r s_r·e^(m_r − m), loss = m + log s − Σ_r z_t,r: the full "
                          "log-sum-exp from three numbers per row and rank, without gathering a logit.")


_OWNER_CASES = [  # (target, V, P): uneven splits first, where the usual shortcuts differ from shard_sizes
    (np.array([9, 0, 3, 2, 8, 5, 6, 7, 1, 4, 9]), 10, 4),
    (np.arange(10)[::-1].copy(), 10, 3),
    (np.arange(12), 12, 4),
    (np.array([6, 0, 3, 5]), 7, 7),
    (np.array([4, 0, 2]), 5, 1),
    (np.array([0, 6282, 6283, 12564, 12565, 25000, 50256]), 50257, 8),  # GPT-2's vocabulary: 50257 = 8 · 6282 + 1
    (np.array([7]), 10, 4),
]


def check_owner(fn=None):
    """Exercise 11.2: ``fn(target, vocab_size, world_size)`` is, for each class index, the rank whose shard holds it
    under the course's split (``parallel.shard_sizes``: the first V mod P ranks hold ⌊V/P⌋ + 1 classes)."""
    from ..parallel import owner_rank, shard_ranges

    for t, v, p in _OWNER_CASES:
        ranges = shard_ranges(v, p)
        sizes = [b - a for a, b in ranges]
        what = f"V = {v} classes over P = {p} ranks (shard sizes {sizes})" if p <= 8 and v <= 12 else \
            f"V = {v} classes over P = {p} ranks (rank 0 holds {sizes[0]} classes, the others {sizes[-1]})"
        out, err = _run(fn, t, v, p)
        if err:
            return _verdict(False, _in_case(what, err))
        want = owner_rank(t, v, p)
        if out.shape == () and len(t) == 1:
            return _verdict(False, "for a batch of one target, shape (1,), return shape (1,), got () "
                                   "(a squeeze() or x[0] dropped the batch axis?)")
        if msg := _shape_msg(out, want):
            return _verdict(False, f"for {what}: {msg} (one rank per target)")
        if not np.all(np.isfinite(out)) or not np.all(out == np.round(out)):
            bad = int(np.argmax(~np.isfinite(out) | (out != np.round(out))))
            return _verdict(False, f"a rank is a whole number, but for class {t[bad]} of {what} you return {out[bad]}: "
                                   "t · P / V is a fraction; find the shard whose range start … stop − 1 holds t")
        if np.array_equal(out, want):
            continue
        starts = np.array([a for a, _ in ranges])
        q = v // p
        hints = [
            (t // q, f"t // (V // P) assumes V is divisible by P: it makes every shard {q} classes wide"
                     + (f", so the last classes get rank {int((t // q).max())}, and there are only ranks 0 … {p - 1}"
                        if (t // q).max() >= p else "") + "; here the first V mod P ranks hold one class more (shard_sizes)"),
            (t // -(-v // p), f"⌈V/P⌉ = {-(-v // p)} classes per rank (t // ⌈V/P⌉), the last rank fewer, is torch.chunk's "
                              f"split (and DTensor's); the course's split is shard_sizes, {sizes}: the first V mod P "
                              "ranks hold one more"),
            (t * p // v, f"t · P // V (or t // (V / P)) spreads the larger shards out; the course's split puts them first: "
                         f"{sizes} (shard_sizes)"),
            (starts[want], "that is the first class of the owner's shard; return the owner's rank itself, 0 … P − 1"),
            (t - starts[want], "that is the class's position inside its shard; return the rank that holds it, 0 … P − 1"),
        ]
        for wrong, hint in hints:
            if not np.array_equal(wrong, want) and np.array_equal(out, wrong):
                return _verdict(False, f"for {what}: {hint}")
        bad = out != want
        edges = set(starts[1:].tolist()) | {b - 1 for _, b in ranges[:-1]}
        at = int(np.argmax(bad))
        if set(t[bad].tolist()) <= edges and np.all(np.abs(out[bad] - want[bad]) == 1):
            start, stop = ranges[want[at]]
            return _verdict(False, f"off by one at a shard boundary, for {what}: class {t[at]} belongs to rank {want[at]} "
                                   f"(classes {start} … {stop - 1}), you say rank {out[at]:g}; rank r holds start … stop − 1, "
                                   "stop excluded")
        if out.min() < 0 or out.max() >= p:
            return _verdict(False, f"for {what}: the ranks are 0 … {p - 1}, you return {out[(out < 0) | (out >= p)][0]:g}")
        return _verdict(False, f"for {what}: class {t[at]} belongs to rank {want[at]}, you say rank {out[at]:g}")
    return _verdict(True, "each rank holds a run of ⌊V/P⌋ classes, the first V mod P ranks one more: for V = 10 over 4 "
                          "ranks, classes 0-2, 3-5, 6-7, 8-9; only the owner's shard of softmax − one-hot gets the −1.")


_BYTES_CASES = [(6144, 30720, 6, 4), (4096, 32768, 8, 4), (8192, 128000, 8, 2), (3072, 30000, 3, 4), (1024, 50000, 2, 4),
                (2048, 32000, 1, 4)]  # first P = 6: with P = 8 the bits of a byte (× 8) look like a missing / P


def check_bytes_per_step(fn=None):
    """Exercise 11.3: ``fn(n, vocab_size, world_size, bytes_per_number)`` is the pair (bytes one rank sends in the
    forward pass's three ring all-reduces of n numbers, bytes it would send to ring-all-gather the n × V logits)."""
    from ..parallel import ring_all_gather_bytes, ring_all_reduce_bytes

    for n, v, p, b in _BYTES_CASES:
        what = f"n = {n}, V = {v}, P = {p}, {b} bytes per number"
        raw, err = _run(fn, n, v, p, b, as_array=False)
        out, err = (None, err) if err else _numbers(raw)
        if err:
            return _verdict(False, _in_case(what, err))
        want = (3 * ring_all_reduce_bytes(n, p, b), ring_all_gather_bytes(n * v, p, b))
        if out.shape == ():
            return _verdict(False, f"you return one number, {float(out):g}: return the pair (vocab_parallel, gather)")
        if out.shape != (2,):
            return _verdict(False, f"return the pair (vocab_parallel, gather), two numbers; got shape {out.shape}")
        got = tuple(float(x) for x in out)
        if all(math.isclose(g, w, rel_tol=1e-9) for g, w in zip(got, want)):
            continue
        if not all(math.isfinite(g) for g in got):
            return _verdict(False, f"for {what} you return {got}: bytes are finite numbers")
        if p == 1:
            return _verdict(False, f"with one rank (P = 1) nothing is sent, so the answer is (0, 0), got {got}: "
                                   "the factor (P − 1)/P gives 0 by itself")
        if math.isclose(got[0], want[1], rel_tol=1e-9) and math.isclose(got[1], want[0], rel_tol=1e-9):
            return _verdict(False, "the two are swapped: return (vocab_parallel, gather), the all-reduces first")
        if 0 in got:
            return _verdict(False, f"for {what} you return {got}: a 0 for P = {p}: integer division? (P − 1) // P is 0; "
                                   "multiply first and divide last, or divide with /")
        ring = 2 * (p - 1) / p
        for value, hint in ((3 * n * b, "no ring factor: in a ring all-reduce each rank sends 2(P − 1)/P of the tensor "
                                         "(a reduce-scatter, then an all-gather), not the tensor once"),
                            (3 * (p - 1) / p * n * b, "(P − 1)/P is only the reduce-scatter, one half of a ring all-reduce; "
                                                      "its all-gather half sends as much again: 2(P − 1)/P per all-reduce"),
                            (2 * ring * n * b, "the forward pass makes three all-reduces of n numbers (the MAX of the maxes, "
                                               "the SUM of the rescaled sums, the SUM of the target logits), not two"),
                            (8 * 3 * ring * n * b, "that is bits (× 8); bytes_per_number already counts bytes"),
                            (3 * 2 * (p - 1) * n * b, "divide by P: a ring all-reduce sends 2(P − 1) chunks of n/P numbers"),
                            (3 * ring * n, "multiply by bytes_per_number: that is how many numbers are sent, not bytes")):
            if not math.isclose(value, want[0], rel_tol=1e-9) and math.isclose(got[0], value, rel_tol=1e-9):
                return _verdict(False, f"for {what}, vocab_parallel: {hint}")
        if not math.isclose(got[0], want[0], rel_tol=1e-9):
            return _verdict(False, f"for {what} the three all-reduces send {want[0]:,} bytes, you say {got[0]:,.0f}")
        for value, hint in ((n * v * b, "that is all n × V logits; a rank already holds its own n × V/P of them, and a ring "
                                         "all-gather makes it send (P − 1)/P of the whole"),
                            (ring * n * v * b, "2(P − 1)/P is an all-reduce; an all-gather is only its second half: (P − 1)/P"),
                            (n * v * b / p, "that is one rank's shard, n × V/P numbers; in a ring all-gather each rank "
                                            "forwards P − 1 shards: (P − 1)/P · n · V · b"),
                            ((p - 1) / p * n * v, "multiply by bytes_per_number: that is how many numbers are sent, not bytes")):
            if not math.isclose(value, want[1], rel_tol=1e-9) and math.isclose(got[1], value, rel_tol=1e-9):
                return _verdict(False, f"for {what}, gather: {hint}")
        return _verdict(False, f"for {what} gathering the logits sends {want[1]:,} bytes, you say {got[1]:,.0f}")
    return _verdict(True, "3 · 2(P − 1)/P · n · b bytes for the three all-reduces, (P − 1)/P · n · V · b to gather the "
                          "logits: V/6 times fewer, whatever n and P (5,461 times fewer for V = 32,768).")
