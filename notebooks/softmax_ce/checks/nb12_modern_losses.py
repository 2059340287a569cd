"""Checkers of notebook 12 (modern_losses): check_z_loss, check_soft_cap, check_distillation, check_clip_loss,
check_focal_loss, check_sampled_softmax, check_sparsemax, check_kept_classes.

Each one calls the learner's function on several fixed cases (N ≠ V, N = 1, wide rows, logits around ±1000 where
stability matters, float32 inputs), compares with the course's library (``modern``, ``sparse``, ``sampled``), and
when the answer is wrong computes the usual mistakes (a missing factor, the wrong reduction, one direction of two,
an unstable exp, ...) to say exactly what to fix. Work in float32 is right too: the tolerance grows with the size of
the inputs, as float32's rounding does.
"""

import numpy as np

from .. import functional as npF
from ._harness import NOT_DONE, _broadcast_hint, _mismatch, _run, _verdict


def _in_case(what, err):
    """The harness's message, naming the case when the learner's code ran on it (not for an unfinished stub)."""
    if err.startswith("your function") and err != NOT_DONE:
        return f"for {what}: {_broadcast_hint(err)}"
    return err


def _match(out, want, rtol, atol):
    """Same shape and equal up to the tolerance (nan never matches)."""
    return out is not None and np.shape(out) == np.shape(want) and bool(np.allclose(out, want, rtol=rtol, atol=atol))


def _near_miss(out, want, hints, rtol, atol):
    """The hint of the first usual mistake that the answer equals, when that mistake differs from the right answer."""
    for wrong, hint in hints:
        with np.errstate(all="ignore"):
            wrong = np.asarray(wrong, dtype=np.float64)
        if not _match(wrong, want, rtol, atol) and _match(out, wrong, rtol, atol):
            return hint
    return None


def _scale(*arrays):
    """The largest magnitude among the inputs (at least 1): float32's rounding error grows with it."""
    return max([1.0] + [float(np.max(np.abs(a))) for a in arrays if np.size(a)])


def _one_number(what, out, per_row=None, per_entry=None):
    """None when ``out`` is one number, else the message (naming a per-row or per-entry answer as such)."""
    if out.shape == ():
        return None
    if per_row is not None and out.shape == np.shape(per_row):
        return (f"for {what} you return one value per row, shape {out.shape}: the exercise asks for one number, "
                "the mean over the rows")
    if per_entry is not None and out.shape == np.shape(per_entry):
        return (f"for {what} you return one value per entry, shape {out.shape}: sum over the classes, then take the "
                "mean over the rows, to get one number")
    return f"for {what}: expected one number, got shape {out.shape}"


def _expected_got(what, want, got):
    """'for ... expected X, got Y' to 6 significant digits (a z-loss is about 1e-3), with a hint when only float32's
    rounding separates them."""
    msg = f"{what} expected {want:.6g}, got {got:.6g}"
    if abs(got - want) < 1e-4 * max(1e-3, abs(want)):
        msg += " (very close: float32 rounding? compute in float64)"
    return msg


def _dyadic(x):
    """x rounded to sixteenths: logits around ±1000 that float32 holds exactly (a float32 answer only rounds later)."""
    return np.round(np.asarray(x) * 16) / 16


# ----------------------------------------------------------------------------- 12.1 z-loss


def _z_cases():
    rng = np.random.default_rng(1201)
    far = _dyadic(rng.normal(0, 2, size=(4, 5))) + np.array([[1000.0], [-1000.0], [1000.0], [-996.0]])
    return [
        ("4 rows of V = 7 logits, α = 1e-4", rng.normal(0.5, 3, size=(4, 7)), 1e-4),
        ("a batch of one row (N = 1), α = 0.01", rng.normal(1, 2, size=(1, 9)), 0.01),
        ("logits around ±1000, α = 1e-4", far, 1e-4),
        ("rows that span −1000 to +1000 (a spread of 2000 within one row), α = 1e-4",
         np.array([[1000.0, -1000.0, 3.5, 0.5, -2.0], [-1000.0, 999.0, 1000.0, 0.0, 1.25]]), 1e-4),
        ("wide rows (V = 512), α = 0.5", rng.normal(0, 1, size=(3, 512)), 0.5),
        ("float32 logits, α = 2e-3", rng.normal(2, 3, size=(5, 6)).astype(np.float32), 2e-3),
    ]


def check_z_loss(fn=None):
    """Exercise 12.1: ``fn(logits, alpha)``, logits (N, V), is the z-loss α · mean_n (log Z_n)², with
    log Z_n = logsumexp of row n (PaLM's auxiliary loss), one number."""
    from ..modern import z_loss

    for what, z, alpha in _z_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, alpha)
        if err:
            return _verdict(False, _in_case(what, err))
        x = z.astype(np.float64)
        want = np.float64(alpha * z_loss(x))  # reduction 'mean': over the rows
        lse = npF.logsumexp(x, dim=1)
        if msg := _one_number(what, out, per_row=lse, per_entry=x):
            if out.shape == lse.shape and np.allclose(out, alpha * lse**2, rtol=1e-5):
                msg += " (you have α · (log Z_n)² per row: take their mean)"
            return _verdict(False, msg)
        rtol, atol = 1e-5, 1e-12
        if _match(out, want, rtol, atol):
            continue
        m = x.max(axis=1)
        hints = [
            (alpha * lse.mean(), "you forgot the square: the z-loss is α · mean of (log Z)², square each row's log Z "
                                 "before the mean"),
            ((lse**2).mean(), f"α is missing: multiply the mean of (log Z)² by alpha (here {alpha:g}; PaLM uses 1e-4)"),
            (alpha * (lse**2).sum(), "that is the sum over the rows: take the mean, divide by N"),
            (alpha * lse.mean() ** 2, "that is (mean of log Z)², the square of the mean; the z-loss is the mean of the "
                                      "squares, α · mean((log Z)²): square first, then average"),
            (alpha * (m**2).mean(), "you used each row's max for log Z; log Z is the row's log-sum-exp, "
                                    "m + log Σ exp(z − m), which the max only approximates"),
            (alpha * ((lse - m) ** 2).mean(), "log Σ exp(z − m) is log Z − m: add the max back, "
                                              "log Z = m + log Σ exp(z − m)"),
            (alpha * (npF.logsumexp(x, dim=0) ** 2).mean(), "you took log Z over axis=0 (the rows of one column): "
                                                            "log Z is over each row's classes, axis=1 (or -1)"),
            (-want, "the sign is flipped: (log Z)² ≥ 0, so the z-loss is ≥ 0"),
        ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.isfinite(out):
            return _verdict(False, f"for {what} you get {float(out)}: log(sum(exp(z))) overflows (exp(1000) is inf) or "
                                   "takes log(0) (exp(−1000) is 0). Use a stable log-sum-exp: m + log Σ exp(z − m), m the "
                                   "row's max, not its min (every z − m must be ≤ 0, or exp(z − m) overflows in a row "
                                   "that spans −1000 to +1000) (npF.logsumexp or torch.logsumexp)")
        return _verdict(False, _expected_got(f"for {what}", float(want), float(out)))
    return _verdict(True, "α · mean_n (log Z_n)² with a stable log Z = m + log Σ exp(z − m): for logits around ±1000 "
                          "(log Z)² is about 10⁶, which is what the z-loss pushes back towards 0.")


# ----------------------------------------------------------------------------- 12.2 soft-capping


def _cap_cases():
    rng = np.random.default_rng(1202)
    typical = rng.normal(0, 25, size=(3, 6))
    typical[0] = [5.0, -12.0, 40.0, 100.0, -250.0, 0.0]
    big32 = rng.normal(0, 1500, size=(4, 8)).astype(np.float32)
    big32[0, :2] = [3000.0, -3000.0]
    return [
        ("logits of 3 rows over V = 6 classes, cap = 30 (some |z| ≫ cap)", typical, 30.0),
        ("cap = 5", rng.normal(0, 10, size=(4, 5)), 5.0),
        ("attention logits of shape (2, 3, 4), cap = 50", rng.normal(0, 60, size=(2, 3, 4)), 50.0),
        ("a batch of one row (N = 1), logits ±1000, cap = 30", np.array([[1000.0, -1000.0, 30.0, -30.0, 0.5, 0.0]]), 30.0),
        ("float32 logits up to ±3000, cap = 30", big32, 30.0),
    ]


def check_soft_cap(fn=None):
    """Exercise 12.2: ``fn(logits, cap)`` is Gemma 2's soft-capping cap · tanh(logits / cap), elementwise, same shape."""
    from ..modern import soft_cap

    for what, z, cap in _cap_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, cap)
        if err:
            return _verdict(False, _in_case(what, err))
        x = z.astype(np.float64)
        want = soft_cap(x, cap)
        if out.shape != want.shape:
            return _verdict(False, f"for {what}: expected an output of shape {want.shape}, got {out.shape}: soft-capping "
                                   "is elementwise, the output has the input's shape")
        rtol, atol = 1e-5, 1e-6 * cap
        if _match(out, want, rtol, atol):
            continue
        with np.errstate(all="ignore"):
            hints = [
                (cap * np.tanh(x), "divide inside: cap · tanh(z / cap); cap · tanh(z) saturates already at |z| ≈ 3"),
                (np.tanh(x / cap), "multiply by cap: tanh(z / cap) lies in (−1, 1), cap · tanh(z / cap) in (−cap, cap)"),
                (np.clip(x, -cap, cap), "that is hard clipping: z itself inside ±cap and exactly ±cap beyond, with zero "
                                        "gradient there. Soft-capping is smooth: cap · tanh(z / cap) bends towards ±cap "
                                        "gradually and keeps a gradient everywhere"),
                (x / cap, "z / cap is only the argument: cap · tanh(z / cap)"),
                (np.tanh(x), "tanh(z) alone: divide by cap inside and multiply by cap outside, cap · tanh(z / cap)"),
                (x, "you returned the logits unchanged: cap · tanh(z / cap)"),
                (cap * np.tanh(x * cap), "divide z by cap inside tanh, do not multiply: cap · tanh(z / cap)"),
                (cap / (1 + np.exp(-x / cap)), "that is a sigmoid, in (0, cap): soft-capping uses tanh, in (−cap, cap) "
                                               "(tanh(u) = 2σ(2u) − 1)"),
                (-want, "the sign is flipped: cap · tanh(z / cap) has the sign of z"),
            ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.all(np.isfinite(out)):
            return _verdict(False, f"for {what} you get inf/nan where |z / cap| is large: (e^u − e^−u) / (e^u + e^−u) "
                                   "overflows (e^u is inf beyond u ≈ 709 in float64, 88 in float32, and inf/inf is nan). "
                                   "Use np.tanh or torch.tanh, which saturate to ±1")
        return _verdict(False, f"for {what}: {_mismatch(out, want)}")
    return _verdict(True, "cap · tanh(z / cap): about z while |z| ≪ cap, never beyond ±cap (30 · tanh(100/30) = "
                          f"{float(soft_cap(np.float64(100.0), 30.0)):.2f}), and smooth, unlike clipping.")


# ----------------------------------------------------------------------------- 12.3 distillation


def _distill_cases():
    rng = np.random.default_rng(1203)
    far_z = _dyadic(rng.normal(0, 3, size=(3, 5))) + 1000.0
    far_v = _dyadic(rng.normal(0, 3, size=(3, 5))) - 1000.0
    return [
        ("4 rows over V = 6 classes, T = 2", rng.normal(0, 2, size=(4, 6)), rng.normal(0, 3, size=(4, 6)), 2.0),
        ("a batch of one row (N = 1), T = 4", rng.normal(0, 2, size=(1, 5)), rng.normal(0, 4, size=(1, 5)), 4.0),
        ("T = 0.5 (sharper than T = 1)", rng.normal(0, 1, size=(3, 5)), rng.normal(0, 1, size=(3, 5)), 0.5),
        ("student logits around +1000, teacher logits around −1000, T = 1.25", far_z, far_v, 1.25),
        ("logits that span −1000 to +1000 within a row, T = 1.25",
         np.array([[1000.0, -1000.0, 2.5, 0.0, 999.0], [-1000.0, 1000.0, 998.5, -3.0, 0.25]]),
         np.array([[998.0, 1000.0, -1000.0, 1.5, 0.0], [0.5, 1000.0, -1000.0, 999.25, -2.0]]), 1.25),
        ("wide rows (V = 256), T = 3", rng.normal(0, 2, size=(3, 256)), rng.normal(0, 3, size=(3, 256)), 3.0),
        ("float32 logits, T = 2", rng.normal(0, 2, size=(4, 7)).astype(np.float32),
         rng.normal(0, 2, size=(4, 7)).astype(np.float32), 2.0),
    ]


def check_distillation(fn=None):
    """Exercise 12.3: ``fn(student_logits, teacher_logits, T)``, both (N, V): with z the student's logits, v the
    teacher's, p = softmax(z/T) and r = softmax(v/T), the loss is T² · KL(r ‖ p) = T² Σ_j r_j (log r_j − log p_j),
    summed over the classes and averaged over the N rows ('batchmean'), one number."""
    from ..modern import distillation_loss

    for what, z, v, T in _distill_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, v, T)
        if err:
            return _verdict(False, _in_case(what, err))
        z64, v64 = z.astype(np.float64), v.astype(np.float64)
        want = np.float64(distillation_loss(z64, v64, T))  # its default reduction: 'batchmean'
        n, classes = z.shape
        log_p, log_r = npF.log_softmax(z64 / T, dim=1), npF.log_softmax(v64 / T, dim=1)  # the student's, the teacher's
        p, r = np.exp(log_p), np.exp(log_r)
        kl_rows = (r * (log_r - log_p)).sum(axis=1)  # KL(r ‖ p) per row
        if msg := _one_number(what, out, per_row=kl_rows, per_entry=z):
            if out.shape == z.shape:
                msg += " (that is F.kl_div's reduction='none')"
            return _verdict(False, msg)
        rtol, atol = 1e-5, 1e-7 * _scale(z64 / T, v64 / T) * max(1.0, T * T)
        if _match(out, want, rtol, atol):
            continue

        def kl(log_a, log_b):  # KL(a ‖ b) per row, averaged over the rows
            return (np.exp(log_a) * (log_a - log_b)).sum(axis=1).mean()

        log_p1, log_r1 = npF.log_softmax(z64, dim=1), npF.log_softmax(v64, dim=1)  # not softened
        hints = [
            (kl_rows.mean(), f"the factor T² is missing: multiply by T² = {T * T:g}; the soft targets' gradients shrink as "
                             "1/T², and T² gives them back their size"),
            (T * kl_rows.mean(), f"multiply by T² = {T * T:g}, not by T"),
            (T * T * kl(log_p, log_r), "the KL is reversed: the loss is KL(teacher ‖ student) = KL(r ‖ p) = "
                                       "Σ r (log r − log p), weighted by the teacher's probabilities r. "
                                       "F.kl_div(input, target) computes KL(target ‖ input): input = the student's "
                                       "log-probabilities log_softmax(z / T), target = the teacher's probabilities "
                                       "softmax(v / T)"),
            (T * T * kl_rows.sum() / (n * classes), f"that divides by N·V = {n * classes}, the number of entries: "
                                                    "F.kl_div's reduction='mean' trap. Use reduction='batchmean': sum "
                                                    "over the classes, mean over the N rows"),
            (T * T * kl_rows.sum(), "that is the sum over the rows: divide by N (F.kl_div's reduction='batchmean')"),
            (T * T * kl(log_r1, log_p1), f"you left out the temperature inside both softmaxes: that is T² · KL of the "
                                         "unsoftened softmax(v) and softmax(z). Divide both logits by T first, "
                                         f"r = softmax(v / T) and p = softmax(z / T), then multiply their KL by T² = "
                                         f"{T * T:g}"),
            (kl(log_r1, log_p1), f"that is KL(softmax(v) ‖ softmax(z)), at T = 1 and without T²: divide both logits "
                                 f"by T = {T:g} inside the softmaxes, and multiply the KL by T² = {T * T:g}"),
            (T * T * kl(log_r, log_p1), "divide the student's logits by T too: p = softmax(z / T) against the teacher's "
                                        "r = softmax(v / T)"),
            (T * T * kl(log_r1, log_p), "divide the teacher's logits by T too: r = softmax(v / T) against the student's "
                                        "p = softmax(z / T)"),
            (T * T * (r * (log_r - p)).sum(axis=1).mean(), "F.kl_div's first argument must be the student's "
                                                           "log-probabilities, log_softmax(z / T), not its probabilities "
                                                           "softmax(z / T); its second, the target, is the teacher's "
                                                           "probabilities"),
            (T * T * (np.exp(r) * (r - log_p)).sum(axis=1).mean(), "log_target=True says the target holds "
                                                                   "log-probabilities, but you gave the teacher's "
                                                                   "probabilities: drop log_target (or pass "
                                                                   "log_softmax(v / T))"),
            (T * T * (-(r * log_p).sum(axis=1)).mean(), "that is the cross-entropy −Σ r log p of the soft targets, not "
                                                        "the KL divergence: the two differ by the teacher's entropy "
                                                        "H(r) = −Σ r log r, a constant for the student, so the gradient "
                                                        "is the same but the value is not. Compute Σ r (log r − log p)"),
            (-want, "the sign is flipped: KL ≥ 0, Σ r (log r − log p) with r the teacher's probabilities"),
        ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.isfinite(out):
            if _scale(z64, v64) < 100:  # ordinary logits: no overflow, so a log of a negative number or of 0
                return _verdict(False, f"for {what} you get {float(out)}, with ordinary logits: a log of 0 or of a negative "
                                       "number. If the target of F.kl_div is log-probabilities (log_softmax(v / T)), say "
                                       "log_target=True; otherwise give it the teacher's probabilities softmax(v / T), "
                                       "and the student's log-probabilities log_softmax(z / T) as input")
            return _verdict(False, f"for {what} you get {float(out)}: exp of logits around ±1000 overflows, or log takes "
                                   "log(0). Compute the log-probabilities with log_softmax (x − logsumexp(x)), not as "
                                   "log(softmax), and the probabilities with the row's max subtracted (softmax)")
        return _verdict(False, _expected_got(f"for {what}", float(want), float(out)))
    return _verdict(True, "T² · KL(r ‖ p) = T² · Σ r (log r − log p) / N, with the teacher's r = softmax(v / T) and the "
                          "student's p = softmax(z / T): in torch T**2 * F.kl_div(F.log_softmax(z / T, dim=1), "
                          "F.softmax(v / T, dim=1), reduction='batchmean').")


# ----------------------------------------------------------------------------- 12.4 CLIP


def _clip_cases():
    rng = np.random.default_rng(1204)

    def pairs(n, d, noise, low=0.5, high=4.0, dtype=np.float64):
        """Image and text embeddings whose row i match (up to noise, one per row or for all), norms between low and high."""
        base = rng.normal(size=(n, d))
        img = base + noise * rng.normal(size=(n, d))
        txt = base + noise * rng.normal(size=(n, d))
        for e in (img, txt):
            e *= rng.uniform(low, high, size=(n, 1)) / np.linalg.norm(e, axis=1, keepdims=True)
        return img.astype(dtype), txt.astype(dtype)

    return [
        ("N = 5 pairs of D = 8 dimensions, τ = 0.07 (norms between 0.5 and 4)", *pairs(5, 8, 1.0), 0.07),
        ("N = 6 pairs of D = 3 dimensions (more pairs than dimensions), τ = 0.5", *pairs(6, 3, 0.7), 0.5),
        ("a batch of one pair (N = 1), τ = 0.07", *pairs(1, 4, 1.0), 0.07),
        ("N = 32 pairs of D = 16, τ = 0.2", *pairs(32, 16, 1.2), 0.2),
        ("float32 embeddings, τ = 0.01 (CLIP's largest logit scale, 100)",
         *pairs(6, 8, np.array([[0.2], [1.0], [0.9], [1.2], [0.8], [1.0]]), dtype=np.float32), 0.01),
    ]


def check_clip_loss(fn=None):
    """Exercise 12.4: ``fn(image_emb, text_emb, temperature)``, both (N, D) and not normalised, is CLIP's loss: with
    Î, Ĉ the rows L2-normalised and S = Î Ĉᵀ / τ, (CE(S, arange N) + CE(Sᵀ, arange N)) / 2, means over the rows."""
    from ..modern import clip_loss

    for what, img, txt, tau in _clip_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, img, txt, tau)
        if err:
            return _verdict(False, _in_case(what, err))
        a, b = img.astype(np.float64), txt.astype(np.float64)
        want = np.float64(clip_loss(a, b, temperature=tau, normalize=True))
        n = len(a)
        if msg := _one_number(what, out, per_row=a[:, 0], per_entry=a @ b.T):
            return _verdict(False, msg)
        rtol, atol = 1e-5, 1e-6 / tau
        if _match(out, want, rtol, atol):
            continue

        def unit(x, axis=1):
            return x / np.linalg.norm(x, axis=axis, keepdims=True)

        def loss(sim, reduction="mean"):
            labels = np.arange(len(sim))
            return (npF.cross_entropy(sim, labels, reduction=reduction) + npF.cross_entropy(sim.T, labels, reduction=reduction)) / 2

        S = unit(a) @ unit(b).T
        labels = np.arange(n)
        hints = [
            (loss(a @ b.T / tau), "normalise each embedding first, x / ‖x‖ along each row (axis=1, keepdims=True), so "
                                  "that S holds cosine similarities: the embeddings given here are not unit vectors"),
            (npF.cross_entropy(S / tau, labels), "that is one direction, images → texts (the softmax over each row of S; "
                                                 "or the same direction twice): add the texts → images direction, the "
                                                 "softmax over each column, CE(Sᵀ, arange N), and average the two"),
            (npF.cross_entropy(S.T / tau, labels), "that is one direction, texts → images (the softmax over each column of "
                                                   "S): add the images → texts direction, CE(S, arange N), and average "
                                                   "the two"),
            (loss(S * tau), f"divide the similarities by the temperature, S = Î Ĉᵀ / τ; multiplying by τ = {tau:g} "
                            "flattens the softmax instead of sharpening it"),
            (loss(S), f"divide the similarities by the temperature τ = {tau:g}: S = Î Ĉᵀ / τ"),
            (loss(S / tau, "sum"), "that sums over the N pairs: take each direction's mean over the rows"),
            (2 * want, "you added the two directions: average them, (CE(S) + CE(Sᵀ)) / 2"),
            (loss(unit(a, 0) @ unit(b, 0).T / tau), "you normalised the columns (axis=0): each embedding is a row, "
                                                    "normalise along axis=1 (keepdims=True)"),
            (loss(a @ b.T / (np.linalg.norm(a) * np.linalg.norm(b) * tau)), "you divided by the norm of the whole matrix: "
                                                                             "each row gets its own norm (axis=1, "
                                                                             "keepdims=True)"),
            (loss((a / (a**2).sum(1, keepdims=True)) @ (b / (b**2).sum(1, keepdims=True)).T / tau),
             "divide by the norm ‖x‖ = √(Σ x²), not by its square"),
            (-want, "the sign is flipped: a cross-entropy is ≥ 0"),
        ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.isfinite(out):
            return _verdict(False, f"for {what} you get {float(out)}: with τ = {tau:g} the similarities reach 1/τ = "
                                   f"{1 / tau:g}, and exp({1 / tau:g}) overflows in float32 (beyond 88): use log_softmax or "
                                   "F.cross_entropy, which subtract the max (a stable log-sum-exp)")
        return _verdict(False, _expected_got(f"for {what}", float(want), float(out)))
    return _verdict(True, "unit rows, S = Î Ĉᵀ / τ, and the mean of CE(S, arange N) and CE(Sᵀ, arange N): each image "
                          "picks its caption among the batch's, and each caption its image.")


# ----------------------------------------------------------------------------- 12.5 focal loss


def _focal_cases():
    rng = np.random.default_rng(1205)
    easy = rng.normal(0, 1, size=(5, 4))
    easy[0, 2] += 6.0  # an easy example: p_t near 1, its loss nearly vanishes
    far = _dyadic(np.array([[1000.0, -1000.0, 0.5], [1000.5, 1000.0, 999.0], [-1000.0, -1000.5, -999.0],
                            [-999.5, -1000.0, -1000.25]]))
    return [
        ("5 rows over V = 4 classes, γ = 2", easy, np.array([2, 0, 3, 1, 1]), 2.0),
        ("a batch of one row (N = 1), γ = 2", rng.normal(0, 2, size=(1, 6)), np.array([4]), 2.0),
        ("γ = 0 (plain cross-entropy)", rng.normal(0, 2, size=(3, 5)), np.array([0, 4, 2]), 0.0),
        ("logits around ±1000, γ = 2", far, np.array([1, 0, 2, 0]), 2.0),
        ("wide rows (V = 300), γ = 0.5", rng.normal(0, 3, size=(3, 300)), np.array([7, 299, 150]), 0.5),
        ("float32 logits, γ = 1", rng.normal(0, 2, size=(4, 6)).astype(np.float32), np.array([5, 0, 1, 3]), 1.0),
    ]


def check_focal_loss(fn=None):
    """Exercise 12.5: ``fn(logits, target, gamma)``, logits (N, V), target int (N,), is the focal loss
    mean_n −(1 − p_t)^γ log p_t with p_t = softmax(logits_n)[target_n], one number."""
    from ..modern import focal_loss

    for what, z, t, g in _focal_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, z, t, g)
        if err:
            return _verdict(False, _in_case(what, err))
        x = z.astype(np.float64)
        want = np.float64(focal_loss(x, t, gamma=g))  # alpha None, reduction 'mean'
        log_p = npF.log_softmax(x, dim=1)
        log_pt = log_p[np.arange(len(t)), t]
        p_t = np.exp(log_pt)
        factor = (-np.expm1(log_pt)) ** g
        per_row = -factor * log_pt
        if msg := _one_number(what, out, per_row=per_row, per_entry=x):
            return _verdict(False, msg)
        rtol, atol = 1e-5, 1e-7 * _scale(x)
        if _match(out, want, rtol, atol):
            continue
        log_pmax = log_p.max(axis=1)
        with np.errstate(all="ignore"):
            hints = [
                ((-(p_t**g) * log_pt).mean(), "the factor is (1 − p_t)^γ, not p_t^γ: it shrinks the loss of the easy "
                                              "examples (p_t near 1), not of the hard ones"),
                ((-log_pt).mean(), f"that is plain cross-entropy: multiply each row's −log p_t by (1 − p_t)^γ (γ = {g:g})"),
                (per_row.sum(), "that is the sum over the rows: take the mean, divide by N"),
                ((-g * log_pt).mean(), "−log(p_t^γ) = −γ log p_t: γ is the exponent of (1 − p_t), outside the log: "
                                       "−(1 − p_t)^γ log p_t"),
                ((-(np.log(factor) + log_pt)).mean(), "the factor (1 − p_t)^γ multiplies −log p_t; it does not go inside "
                                                      "the log: −(1 − p_t)^γ · log p_t"),
                ((-g * (1 - p_t) * log_pt).mean(), "(1 − p_t)^γ is a power, (1 − p_t) ** γ, not γ · (1 − p_t)"),
                ((-((1 - np.exp(log_pmax)) ** g) * log_pmax).mean(), "p_t is the probability of the target class, "
                                                                     "softmax(z)[n, target[n]], not the largest "
                                                                     "probability of the row"),
                ((-((1 - np.exp(log_pmax)) ** g) * log_pt).mean(), "p_t in the factor is the probability of the target "
                                                                   "class, softmax(z)[n, target[n]], not the largest "
                                                                   "probability of the row"),
                (per_row.sum() / factor.sum(), "the mean is over the N rows: divide by N, not by Σ (1 − p_t)^γ"),
                *((early, "you averaged over the rows before applying the focal factor: the factor (1 − p_t)^γ is per "
                          "row, each row's own p_t. Compute −(1 − p_t)^γ log p_t for every row, and average at the end")
                  for early in (-((1 - p_t.mean()) ** g) * log_pt.mean(), -((-np.expm1(log_pt.mean())) ** g) * log_pt.mean(),
                                -factor.mean() * log_pt.mean())),
                (-want, "the sign is flipped: the loss is −(1 − p_t)^γ log p_t, which is ≥ 0"),
            ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.isfinite(out):
            return _verdict(False, f"for {what} you get {float(out)}: np.log(softmax) takes log(0) = −inf where a "
                                   "probability underflows (and exp(1000) overflows). Take log p_t from log_softmax, "
                                   "z_t − logsumexp(z), and p_t = exp(log p_t)")
        return _verdict(False, _expected_got(f"for {what}", float(want), float(out)))
    return _verdict(True, "mean of −(1 − p_t)^γ log p_t with log p_t from log_softmax: an easy example (p_t = 0.99) "
                          "counts 10⁻⁴ of its cross-entropy at γ = 2, and γ = 0 gives cross-entropy back.")


# ----------------------------------------------------------------------------- 12.6 sampled softmax


def _sampled_cases():
    """[(what, z_target, z_sampled, log_q_target, log_q_sampled, want)]: the logits of a real output layer on the
    target and K classes drawn from the log-uniform proposal (shared by every row), and the library's loss of that layer."""
    import torch

    from ..sampled import log_uniform_candidates, log_uniform_log_probs, sampled_softmax_loss

    rng = np.random.default_rng(1206)
    problems = [  # (what, N, D, V, K, row offsets, class biases)
        ("N = 4 rows, K = 6 samples from V = 50 classes", 4, 8, 50, 6, None, False),
        ("a batch of one row (N = 1), K = 5", 1, 8, 40, 5, None, False),
        ("a single sample (K = 1), N = 3", 3, 6, 30, 1, None, False),
        ("K = 200 samples from V = 1000 (wide)", 3, 16, 1000, 200, None, False),
        ("logits around ±1000", 4, 8, 60, 7, np.array([1000.0, -1000.0, 1000.0, -1000.0]), False),
        ("logits that span −1000 to +1000 within a row (class biases of ±1000)", 4, 8, 60, 8, None, True),
        ("float32 logits", 5, 8, 80, 6, None, False),
    ]
    cases = []
    for what, n, d, v, k, offsets, biases in problems:
        h = rng.normal(size=(n, d))
        w = rng.normal(size=(v, d)) * 1.5 / np.sqrt(d)
        if offsets is not None:  # one more input dimension, weight 1 for every class: row n's logits shift by offsets[n]
            h = np.concatenate([h, offsets[:, None]], axis=1)
            w = np.concatenate([w, np.ones((v, 1))], axis=1)
        if biases:  # one more input dimension, 1 in every row: the even classes' logits rise by 1000, the odd ones' fall
            h = np.concatenate([h, np.ones((n, 1))], axis=1)
            w = np.concatenate([w, np.where(np.arange(v) % 2 == 0, 1000.0, -1000.0)[:, None]], axis=1)
        h, w = torch.from_numpy(h), torch.from_numpy(w)
        target = torch.from_numpy(rng.integers(0, v, size=n))
        sampled, _ = log_uniform_candidates(v, k, rng)
        log_q = log_uniform_log_probs(v)
        want = sampled_softmax_loss(h, w, target, sampled, log_q, subtract_log_q=True, remove_accidental_hits=False,
                                    reduction="none").numpy()
        z_t = (h * w[target]).sum(-1).numpy()
        z_s = (h @ w[sampled].T).numpy()
        args = (z_t, z_s, log_q[target].numpy(), log_q[sampled].numpy())
        if what.startswith("float32"):
            args = tuple(a.astype(np.float32) for a in args)
        cases.append((what, *args, want))
    return cases


def check_sampled_softmax(fn=None):
    """Exercise 12.6: ``fn(z_target, z_sampled, log_q_target, log_q_sampled)``, shapes (N,), (N, K), (N,), (K,) (the K
    sampled classes j_1 … j_K are shared by every row), is the sampled softmax loss with the log-Q correction, one
    per row (N,): ℓ_n = −(z_t − log Q(t)) + log(exp(z_t − log Q(t)) + Σ_k exp(z_{j_k} − log Q(j_k)))."""
    for what, z_t, z_s, lq_t, lq_s, want in _sampled_cases():
        with np.errstate(all="ignore"):
            out, err = _run(fn, z_t, z_s, lq_t, lq_s)
        if err:
            return _verdict(False, _in_case(what, err))
        zt, zs, qt, qs = (a.astype(np.float64) for a in (z_t, z_s, lq_t, lq_s))
        n, k = zs.shape

        def loss(target, samples, first=None):  # −first + log(exp(target) + Σ exp(samples)), per row
            return npF.logsumexp(np.concatenate([target[:, None], samples], axis=1), dim=1) - (target if first is None else first)

        if out.shape == () and n > 1:
            for total, how in ((want.mean(), "averaged"), (want.sum(), "added up")):
                if np.isclose(float(out), total, rtol=1e-5):
                    return _verdict(False, f"for {what} you {how} the rows' losses into one number: return one loss per "
                                           "row, shape (N,)")
        if out.shape == () and n == 1:
            return _verdict(False, "for a batch of one row the loss must have shape (1,), got () (a squeeze() or x[0] "
                                   "dropped the batch axis?)")
        if out.shape != want.shape:
            return _verdict(False, f"for {what}: expected one loss per row, shape {want.shape}, got {out.shape}")
        rtol, atol = 1e-5, 1e-6 * _scale(zt, zs, qt, qs)
        if _match(out, want, rtol, atol):
            continue
        hints = [
            (loss(zt, zs), "no log-Q correction: subtract log Q from every logit, the target's and the samples', "
                           "z − log Q, before the softmax over them"),
            (loss(zt + qt, zs + qs), "the correction is subtracted, z − log Q, not added: a class the proposal draws "
                                     "often (large Q) must count less"),
            (loss(zt, zs - qs), "you corrected only the sampled logits: subtract log Q(t) from the target's logit too, "
                                "in both places where it appears"),
            (loss(zt - qt, zs), "you corrected only the target's logit: subtract log Q(j_k) from each sampled logit "
                                "too, z_sampled − log_q_sampled"),
            (npF.logsumexp(zs - qs, dim=1) - (zt - qt), "the normaliser leaves out the target: it runs over the target "
                                                        "and the K samples, log(exp(z_t − log Q(t)) + "
                                                        "Σ_k exp(z_{j_k} − log Q(j_k)))"),
            (loss(zt - qt, zs - qs, first=zt), "the first term needs the correction too: −(z_t − log Q(t))"),
            *((want + sign * np.log(k), f"your losses differ from the expected by {'+' if sign > 0 else '−'}log K = "
                                        f"{'+' if sign > 0 else '−'}{np.log(k):.4g} (K = {k}), a constant: the course's "
                                        "loss leaves out the "
                                        "1/K of the estimate (1/K) Σ_k e^{z_{j_k}} / Q(j_k) (the gradient is the same, "
                                        "but return ℓ without it, as section 6 writes it: so this answer is not accepted)")
              for sign in (-1, 1)),
            (-want, "the sign is flipped: the loss is −(z_t − log Q(t)) + log(...), which is ≥ 0"),
        ]
        if hint := _near_miss(out, want, hints, rtol, atol):
            return _verdict(False, f"for {what}: {hint}")
        if not np.all(np.isfinite(out)):
            return _verdict(False, f"for {what} you get inf/nan: exp of logits around ±1000 overflows (or every exp "
                                   "underflows to 0 and log takes log(0)). Compute the log of the sum stably, "
                                   "m + log Σ exp(x − m) with m the row's largest corrected logit (np.logaddexp.reduce, "
                                   "torch.logsumexp)")
        return _verdict(False, f"for {what}: {_mismatch(out, want)}")
    return _verdict(True, "softmax over the target and the K samples with every logit corrected by −log Q: what the "
                          "library's sampled_softmax_loss computes from the output layer, for K + 1 logits instead of V.")


# ----------------------------------------------------------------------------- 12.7 sparsemax


def _sparse_cases():
    rng = np.random.default_rng(1207)
    row = _dyadic(rng.normal(0, 1.5, size=5))
    return [
        ("4 rows of V = 6 logits", rng.normal(0, 1.5, size=(4, 6))),
        ("rows with ties, such as [1, 1, 0, −1, −2]", np.array([[1.0, 1.0, 0.0, -1.0, -2.0], [0.5, 0.5, 0.5, -2.0, -2.0],
                                                               [2.0, 0.5, 2.0, 0.4, 0.3]])),
        ("one dominant logit, such as [5, 0, 0.2, −1, 3.5] (a one-hot result)", np.array([[5.0, 0.0, 0.2, -1.0, 3.5],
                                                                                          [0.0, 0.0, 10.0, 0.0, 0.0]])),
        ("rows of equal logits (a uniform result)", np.array([[3.0, 3.0, 3.0, 3.0], [-7.5, -7.5, -7.5, -7.5]])),
        ("a row whose support is every class, [0.1, 0, −0.1, 0.05, 0.02]", np.array([[0.1, 0.0, -0.1, 0.05, 0.02],
                                                                                     [0.3, 0.2, 0.1, 0.0, -0.1]])),
        ("the same row shifted by +1000 and −1000", np.stack([row, row + 1000.0, row - 1000.0])),
        ("a batch of one row (N = 1)", rng.normal(0, 1, size=(1, 7))),
        ("wide rows (V = 300)", rng.normal(0, 1, size=(3, 300))),
        ("float32 logits", rng.normal(0, 1, size=(4, 6)).astype(np.float32)),
    ]


def _sparsemax_variant(z, descending=True, support_shift=0, k_from=1, unsorted_cumsum=False, whole_sum=False,
                       outside="zero", sorted_output=False, first_k=False):
    """sparsemax with one of the usual mistakes switched on by a keyword (the defaults give the right answer)."""
    z_sorted = np.sort(z, axis=1)[:, ::-1] if descending else np.sort(z, axis=1)
    v = z.shape[1]
    k = np.arange(k_from, v + k_from)
    cumsum = np.cumsum(z if unsorted_cumsum else z_sorted, axis=1)
    holds = 1 + k * z_sorted > cumsum
    found = np.argmax(holds, axis=1)[:, None] + 1 if first_k else holds.sum(axis=1, keepdims=True)  # the first k, or k*
    support = np.clip(found + support_shift, 1, v)
    tau = (z.sum(axis=1, keepdims=True) - 1) / v if whole_sum else (np.take_along_axis(cumsum, support - 1, axis=1) - 1) / support
    base = z_sorted if sorted_output else z
    return {"zero": np.maximum(base - tau, 0), "negative": base - tau,
            "unchanged": np.where(base > tau, base - tau, base)}[outside]


def _sparse_hints(x):
    """[(wrong answer, hint)] for the logits x (N, V): the usual mistakes, for the logits as given and shifted by their
    max (some mistakes change with a shift)."""
    from ..sparse import sparsemax

    shifted = x - x.max(axis=1, keepdims=True)
    support_k = ("off by one in the support size: k is the number of sorted logits with 1 + k z₍ₖ₎ > Σ_{i≤k} z₍ᵢ₎, "
                 "k counted from 1, and τ = (Σ_{i≤k} z₍ᵢ₎ − 1) / k")
    variants = [
        ({"first_k": True}, "you took the FIRST k for which the condition holds, and it always holds for k = 1. "
                            "k is the LARGEST k for which 1 + k z₍ₖ₎ > Σ_{i≤k} z₍ᵢ₎ holds (the condition holds for "
                            "k = 1, 2, …, k*, then fails): count the Trues, or take the last one"),
        ({"support_shift": 1}, support_k), ({"support_shift": -1}, support_k),
        ({"k_from": 0}, "off by one in the support size: k runs from 1 to V (np.arange(1, V + 1)), not from 0, in "
                        "1 + k z₍ₖ₎ > Σ_{i≤k} z₍ᵢ₎"),
        ({"descending": False}, "sort in decreasing order (np.sort(z)[:, ::-1] or −np.sort(−z)): the support is the "
                                "k largest logits"),
        ({"unsorted_cumsum": True}, "the cumulative sum must run over the sorted logits, z₍₁₎ ≥ z₍₂₎ ≥ …, not over z "
                                    "in its own order"),
        ({"whole_sum": True}, "τ uses only the k largest logits, the support: τ = (Σ_{i≤k} z₍ᵢ₎ − 1) / k, not the "
                              "whole row's sum"),
        ({"outside": "negative"}, "clip at 0: [z − τ]₊ = np.maximum(z − τ, 0); the entries below τ are exactly 0, "
                                  "not negative"),
        ({"outside": "unchanged"}, "subtract τ from every entry and clip at 0, [z − τ]₊: the entries outside the "
                                   "support become exactly 0, not left as they were"),
        ({"sorted_output": True}, "you returned the probabilities in sorted order: subtract τ from z in its own "
                                  "order, [z − τ]₊"),
    ]
    with np.errstate(all="ignore"):
        relu = np.maximum(x, 0)
        hints = [
            (npF.softmax(x, dim=1), "that is softmax: it never gives exact zeros. sparsemax is [z − τ]₊, with τ chosen "
                                    "so that the row sums to 1: sort decreasingly, find the support size k, "
                                    "τ = (Σ of the k largest − 1) / k"),
            (relu / relu.sum(axis=1, keepdims=True), "[z]₊ / Σ[z]₊ rescales the positive logits; sparsemax shifts "
                                                     "them instead, [z − τ]₊, with τ from the sorted logits (and adding "
                                                     "a constant to z changes nothing)"),
            (np.maximum(x - x.mean(axis=1, keepdims=True), 0), "τ is not the row's mean: it is "
                                                               "(Σ_{i≤k} z₍ᵢ₎ − 1) / k over the k largest logits "
                                                               "(the support)"),
            *((_sparsemax_variant(v, **kw), hint) for kw, hint in variants for v in (x, shifted)),
            (sparsemax(x, dim=0), "you projected the columns (axis=0): sparsemax runs over each row's classes, "
                                  "axis=1"),
        ]
    return hints


def _diagnose(fn, cases, index, matching, hints_of, tolerance):
    """The first of the hints ``matching`` (indices into ``hints_of(x)``) that names the mistake of case ``index``, told
    apart from the others by the cases after it: two mistakes can give the same numbers on one case (the first k of
    the condition and k counted from 0 both give a support of 1 on some rows) and not on the next."""
    for _, z in cases[index + 1:]:
        if len(matching) < 2:
            break
        with np.errstate(all="ignore"):
            out, err = _run(fn, z)
        x = z.astype(np.float64)
        if err or out.shape != x.shape:
            break
        with np.errstate(all="ignore"):
            hints = hints_of(x)
        rtol, atol = tolerance(x)
        still = [i for i in matching if _match(out, np.asarray(hints[i][0], dtype=np.float64), rtol, atol)]
        matching = still or matching
    return matching[0]


def check_sparsemax(fn=None):
    """Exercise 12.7: ``fn(z)``, z (N, V), is sparsemax of each row: [z − τ]₊ with τ such that the row sums to 1
    (the Euclidean projection onto the simplex, Martins & Astudillo 2016), with exact zeros."""
    from ..sparse import sparsemax

    cases = _sparse_cases()

    def tolerance(x):
        return 1e-5, 1e-6 * _scale(x)

    for index, (what, z) in enumerate(cases):
        with np.errstate(all="ignore"):
            out, err = _run(fn, z)
        if err:
            return _verdict(False, _in_case(what, err))
        x = z.astype(np.float64)
        want = sparsemax(x, dim=1)
        if out.shape != want.shape:
            return _verdict(False, f"for {what}: expected an output of shape {want.shape}, got {out.shape} "
                                   "(sparsemax keeps the logits' shape: one probability per class)")
        rtol, atol = tolerance(x)
        if _match(out, want, rtol, atol):
            if np.any(out[want == 0] != 0):
                j = np.argwhere((want == 0) & (out != 0))[0]
                return _verdict(False, f"for {what} the values are close, but entry {tuple(j.tolist())} should be exactly 0, "
                                       f"got {out[tuple(j)]:.3g}: sparsemax gives exact zeros, [z − τ]₊ = "
                                       "np.maximum(z − τ, 0)")
            continue
        with np.errstate(all="ignore"):
            hints = _sparse_hints(x)
            matching = [i for i, (wrong, _) in enumerate(hints) if _near_miss(out, want, [(wrong, i)], rtol, atol) is not None]
        if matching:
            hint = hints[_diagnose(fn, cases, index, matching, _sparse_hints, tolerance)][1]
            return _verdict(False, f"for {what}: {hint}")
        if not np.all(np.isfinite(out)):
            return _verdict(False, f"for {what} you get inf/nan: sparsemax needs no exp; subtract the row's max first "
                                   "(nothing changes, as for softmax) and take τ from the sorted logits")
        return _verdict(False, f"for {what}: {_mismatch(out, want)}")
    return _verdict(True, "[z − τ]₊ with τ = (Σ_{i≤k} z₍ᵢ₎ − 1) / k over the support of the sorted logits: exact zeros, "
                          "a one-hot row when one logit leads by 1 or more, uniform when all are equal.")


# ----------------------------------------------------------------------------- 12.8 the classes a chunk keeps


def _kept_cases():
    rng = np.random.default_rng(1208)
    # eps = 1/8, every number exact: class 0 is above in every row, class 1 in one row only, class 2 equals eps once,
    # classes 3 and 6 are below in every row (their sums are not), class 4's mean is above eps, class 5's is too.
    hand = np.array([[0.5, 0.25, 0.125, 0.0625, 0.0, 0.0625, 0.0],
                     [0.5, 0.0, 0.0625, 0.0625, 0.25, 0.0625, 0.0625],
                     [0.25, 0.0, 0.0, 0.0625, 0.5, 0.125, 0.0625],
                     [0.25, 0.0, 0.0625, 0.0625, 0.0625, 0.5, 0.0625]])
    return [
        ("a chunk of 4 rows over V = 7 classes, eps = 0.125 (one probability exactly eps)", hand, 0.125),
        ("a chunk of one row (c = 1), eps = 1e-3", npF.softmax(rng.normal(0, 3, size=(1, 12)), dim=1), 1e-3),
        ("3 rows over V = 1000 classes, eps = 2⁻¹²", npF.softmax(rng.normal(0, 3, size=(3, 1000)), dim=1), 2.0**-12),
        ("float32 probabilities, 5 rows over V = 9, eps = 0.01",
         npF.softmax(rng.normal(0, 2.5, size=(5, 9)), dim=1).astype(np.float32), 0.01),
    ]


def check_kept_classes(fn=None):
    """Exercise 12.8: ``fn(probs, eps)``, probs (c, V) the softmax of a chunk of c rows, is the boolean mask (V,) of the
    classes whose gradient work is kept: a class is skipped when its probability is below eps in every row of the
    chunk, so kept = (probs >= eps).any(axis=0). 0/1 integers are accepted too."""
    for what, probs, eps in _kept_cases():
        out, err = _run(fn, probs, eps)
        if err:
            return _verdict(False, _in_case(what, err))
        p = probs.astype(np.float64)
        ge = probs >= probs.dtype.type(eps)  # compared in the probabilities' own dtype, as the learner's code does
        want = ge.any(axis=0)
        c, v = p.shape
        if out.shape == (c,) and c != v:
            return _verdict(False, f"for {what} you return shape ({c},), one value per row: you reduced over the classes "
                                   f"(axis=1); return one value per class, shape ({v},), reducing over the rows (axis=0)")
        if out.shape == p.shape:
            return _verdict(False, f"for {what} you return shape {out.shape}, one value per entry: reduce over the rows, "
                                   "a class is kept when any row of the chunk needs it, .any(axis=0)")
        if out.ndim == 1 and np.array_equal(out, np.flatnonzero(want)) and out.shape != want.shape:
            return _verdict(False, f"for {what}: those are the indices of the kept classes; return a mask, one True/False "
                                   f"per class, shape ({v},)")
        if out.shape != want.shape:
            return _verdict(False, f"for {what}: expected a mask of shape ({v},), one True/False per class, got {out.shape}")
        if not np.all((out == 0) | (out == 1)):
            bad = out[(out != 0) & (out != 1)][0]
            return _verdict(False, f"for {what}: return True/False per class (a boolean array), got the value {bad:.4g}: "
                                   "compare with eps, probs >= eps, then reduce with .any(axis=0)")
        if np.array_equal(out.astype(bool), want):
            continue
        hints = [
            (ge.all(axis=0), "that keeps a class only when every row is at or above eps. A class is skipped only when "
                             "it is below eps in EVERY row, so it is kept as soon as ANY row needs it: .any(axis=0)"),
            ((probs > eps).any(axis=0), "a probability exactly equal to eps: below eps is skipped, eps itself is kept; "
                                        "compare with probs >= eps, not >"),
            (~want, "that is the skipped mask: return the kept classes, True where some row has probability ≥ eps"),
            ((probs < eps).any(axis=0), "that skips a class as soon as one row is below eps, and returns the skipped "
                                        "mask: a class is skipped only when EVERY row is below eps; kept = "
                                        "(probs >= eps).any(axis=0)"),
            (p.mean(axis=0) >= eps, "you compared the mean over the rows: compare each row's probability with eps, and "
                                    "keep a class when any row reaches it"),
            (p.sum(axis=0) >= eps, "you compared the sum over the rows: compare each row's probability with eps, and "
                                   "keep a class when any row reaches it"),
        ]
        for wrong, hint in hints:
            if not np.array_equal(wrong, want) and np.array_equal(out.astype(bool), wrong):
                return _verdict(False, f"for {what}: {hint}")
        j = int(np.argmax(out.astype(bool) != want))
        shown = ", ".join(f"{q:.3g}" for q in p[:, j][:6]) + (", …" if c > 6 else "")
        return _verdict(False, f"for {what}: class {j} has probabilities [{shown}] over the rows, so it is "
                               f"{'kept' if want[j] else 'skipped'}; you say {'kept' if out[j] else 'skipped'}")
    wide = _kept_cases()[2][1]
    skipped = int((~(wide >= 2.0**-12).any(axis=0)).sum())
    return _verdict(True, f"kept = (probs >= eps).any(axis=0): a class costs gradient work unless it is below eps in every "
                          f"row of the chunk; with eps = 2⁻¹², {skipped} of the 1000 classes of the 3-row chunk are skipped, "
                          "and the more peaked the softmax, the more.")
