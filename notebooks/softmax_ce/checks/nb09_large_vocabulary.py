"""Checkers of notebook 09 (large_vocabulary): check_merge_stats, check_chunk_rows."""

import math

import numpy as np

from ._harness import _close, _run, _verdict


def check_merge_stats(fn=None):
    """Exercise 09.1: ``fn(m1, s1, m2, s2)`` merges two (max m, Σ exp(z − m)) block summaries into one."""
    from ..large_vocab import merge_logsumexp_stats

    cases = [(2.0, 1.5, 5.0, 1.2), (5.0, 1.2, 2.0, 1.5), (-1.0, 3.0, -1.0, 2.0), (-np.inf, 0.0, 3.0, 1.0),
             (-np.inf, 0.0, -np.inf, 0.0), (700.0, 1.0, 705.0, 2.0)]
    for m1, s1, m2, s2 in cases:
        with np.errstate(all="ignore"):
            out, err = _run(fn, m1, s1, m2, s2, as_array=False)
        if err:
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}): {err}")
        try:
            m, s = (float(v) for v in out)
        except Exception:  # anything that is not two numbers (also tensors without data): a message, not a crash
            return _verdict(False, "return the pair (m, s)")
        want_m, want_s = (float(v) for v in merge_logsumexp_stats(np.float64(m1), np.float64(s1), np.float64(m2), np.float64(s2)))
        if not _close(m, want_m):  # float32 answers (a torch tensor) are right too
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) the merged max is {want_m}, got {m}")
        if math.isnan(s):
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) s is nan: an empty block (m = −inf) must add nothing")
        if math.isclose(s, s1 + s2) and not math.isclose(want_s, s1 + s2):
            return _verdict(False, "the sums were added as they are; rescale each by e^(m_i − m) to the new max first")
        if not _close(s, want_s):
            return _verdict(False, f"for blocks ({m1}, {s1}) and ({m2}, {s2}) expected s = {want_s:.6f}, got {s:.6f}")
    return _verdict(True, "m = max(m1, m2), s = s1·e^(m1 − m) + s2·e^(m2 − m); empty blocks add nothing.")


def check_chunk_rows(fn=None):
    """Exercise 09.2: ``fn(vocab_size, bytes_per_number, budget_mib)`` is the most rows whose logits fit the budget (in MiB)."""
    cases = [(32768, 4, 32), (128000, 2, 100), (256000, 4, 1), (50257, 4, 64), (262144, 4, 0.5), (32768, 4, 1.5)]  # 1.5 MiB: 12 rows, not 8
    for v, nbytes, budget in cases:
        out, err = _run(fn, v, nbytes, budget, as_array=False)
        if err:
            return _verdict(False, err)
        want = max(1, int(budget * 2**20 // (v * nbytes)))
        try:
            got = int(out)
        except Exception:  # "many", inf, a tensor without data...: a message, not a crash
            return _verdict(False, f"expected a whole number of rows, got {out!r}")
        if got != out:
            return _verdict(False, f"expected a whole number of rows, got {out}: round down")
        if got < 1:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MiB you return {got}: a chunk has at least 1 row")
        if got == budget * 10**6 // (v * nbytes) and got != want:
            return _verdict(False, "1 MiB is 2**20 bytes, not 10**6 (that is a megabyte, MB)")
        if got == want + 1:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MiB: {got} rows do not fit; round down")
        if got != want:
            return _verdict(False, f"for V={v}, {nbytes} bytes, {budget} MiB: expected {want} rows, got {got}")
    return _verdict(True, "c = ⌊budget / (V · bytes)⌋ rows, at least 1: 256 rows of a 32,768-token (2^15) float32 vocabulary in 32 MiB.")
