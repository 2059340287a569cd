"""Checkers of notebook 06 (gradients): check_softmax_jacobian, check_cross_entropy_grad, check_bce_grad,
check_two_layer_backward."""

import numpy as np

from .. import functional as npF
from .. import gradients as G
from ._harness import _mismatch, _numbers, _run, _same, _shape_msg, _verdict


def check_softmax_jacobian(fn=None):
    """Exercise 06.1: ``fn(z)`` is the C × C Jacobian ∂p_i/∂z_j = p_i (δ_ij − p_j) of softmax at a 1-D z."""
    for z in (np.array([2.0, 1.0, 0.1]), np.array([0.5, -1.0, 3.0, 0.0, 2.0])):
        out, err = _run(fn, z)
        if err:
            return _verdict(False, err)
        p = npF.softmax(z, dim=0)
        want = np.diag(p) - np.outer(p, p)
        if msg := _shape_msg(out, want):
            return _verdict(False, msg + " (C × C)")
        if _same(out, want):
            continue
        if _same(out, -want):
            return _verdict(False, "the sign is flipped: the diagonal p_i (1 − p_i) is positive")
        if _same(out, np.diag(p)):
            return _verdict(False, "only the diagonal: every p_i also depends on the other logits, −p_i p_j off the diagonal")
        if _same(out, np.diag(p * (1 - p))):
            return _verdict(False, "the diagonal p_i (1 − p_i) is right, but the off-diagonal entries −p_i p_j are missing")
        if _same(out, -np.outer(p, p)):
            return _verdict(False, "the off-diagonal −p_i p_j is right, but the diagonal misses its + p_i (δ_ij = 1 there)")
        if _same(out, np.diag(z) - np.outer(z, z)):
            return _verdict(False, "use the probabilities p = softmax(z), not the logits z")
        return _verdict(False, f"for z={z.tolist()}: {_mismatch(out, want)}")
    return _verdict(True, "diag(p) − p pᵀ: symmetric, and each row sums to 0.")


_GRAD_Z = np.array([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3], [0.0, 0.0, 4.0], [1.0, -1.0, 0.0]])
_GRAD_T = np.array([0, 0, 2, 1])


def check_cross_entropy_grad(fn=None):
    """Exercise 06.2: ``fn(logits, targets)`` is ∂ mean-cross-entropy / ∂ logits = (softmax(Z) − Y) / N."""
    out, err = _run(fn, _GRAD_Z, _GRAD_T)
    if err:
        return _verdict(False, err)
    n, c = _GRAD_Z.shape
    onehot = np.eye(c)[_GRAD_T]
    p = npF.softmax(_GRAD_Z, dim=1)
    want = (p - onehot) / n
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (one gradient row per sample)")
    if _same(out, want, rtol=1e-5, atol=1e-7):
        return _verdict(True, "(P − Y) / N: each row sums to 0 and pushes the true class's logit up.")
    if _same(out, p - onehot):
        return _verdict(False, "that is the gradient of the sum; the mean divides it by N")
    if _same(out, -want) or _same(out, onehot - p):
        return _verdict(False, "the sign is flipped: the gradient is p − y (descent then raises the true logit)")
    if _same(out, (_GRAD_Z - onehot) / n):
        return _verdict(False, "use the probabilities p = softmax(z), not the logits, in p − y")
    if _same(out, (p - onehot) / (n * c)) or _same(out, (p - onehot) / c):
        return _verdict(False, "the mean is over the N samples only: divide by N, not by C or N × C")
    if _same(out, p / n):
        return _verdict(False, "the targets are missing: subtract the one-hot y from p")
    if _same(out, (npF.softmax(_GRAD_Z, dim=0) - onehot) / n):
        return _verdict(False, "the softmax runs over each row's classes (axis=1), not over the batch (axis=0)")
    return _verdict(False, _mismatch(out, want))


def check_bce_grad(fn=None):
    """Exercise 06.3: ``fn(z, y)`` is ∂ mean-BCE-with-logits / ∂ z = (σ(z) − y) / z.size."""
    z = np.array([[2.0, -1.0], [0.0, 30.0], [-30.0, 0.5]])
    y = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    with np.errstate(all="ignore"):
        out, err = _run(fn, z, y)
    if err:
        return _verdict(False, err)
    s = npF.sigmoid(z)
    want = (s - y) / z.size
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if _same(out, want):
        return _verdict(True, "(σ(z) − y) / z.size: ±1/z.size for the confident mistakes z = ±30, never 0.")
    if _same(out, s - y):
        return _verdict(False, "that is the gradient of the sum; the mean divides by the number of elements")
    if _same(out, -want):
        return _verdict(False, "the sign is flipped: σ(z) − y")
    if _same(out, (s - y) / len(z)) or _same(out, (s - y) / z.shape[1]):
        return _verdict(False, "the mean runs over all elements (z.size), not just the rows or the columns")
    if _same(out, s * (1 - s) / z.size) or _same(out, s * (1 - s)):
        return _verdict(False, "σ(z)(1 − σ(z)) is the derivative of σ alone; the loss's log cancels it, so the chain rule ends simpler")
    if _same(out, (z - y) / z.size):
        return _verdict(False, "use σ(z), not the logit z itself")
    return _verdict(False, _mismatch(out, want))


_NET_KEYS = ("X", "W1", "b1", "W2", "b2")


def _two_layer_case(n, seed):
    """A batch of n inputs (4 features), hidden size 6, 3 classes, smoothed probability targets (ε = 0.1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    W1, b1, W2, b2 = rng.normal(size=(6, 4)) / 2, rng.normal(size=6) / 2, rng.normal(size=(3, 6)) / 2, rng.normal(size=3) / 2
    Y = npF.smoothed_targets(np.eye(3)[rng.integers(0, 3, size=n)], 0.1)
    return X, Y, W1, b1, W2, b2


def _two_layer_grads(X, Y, W1, b1, W2, b2, *, dZ=None, relu=True, bias_sum=True):
    """The gradients of the mean cross-entropy, by the matrix rules; the keywords make the usual mistakes."""
    A = X @ W1.T + b1
    h = np.maximum(A, 0)
    if dZ is None:
        dZ = G.cross_entropy_grad(h @ W2.T + b2, Y)  # (P − Y) / N, for probability targets
    dh = dZ @ W2
    dA = dh * (A > 0) if relu else dh
    reduce = (lambda g: g.sum(axis=0)) if bias_sum else (lambda g: g.mean(axis=0))
    return {"X": dA @ W1, "W1": dA.T @ X, "b1": reduce(dA), "W2": dZ.T @ h, "b2": reduce(dZ)}


def _shape_hint(key, got, want):
    rules = {"X": "dA W1 (N × D times D × D_in)", "W1": "dAᵀ X (D × N times N × D_in)", "b1": "the sum of dA over the batch",
             "W2": "dZᵀ h (C × N times N × D)", "b2": "the sum of dZ over the batch"}
    msg = f"the gradient for {key!r} has shape {got}, but {key} has shape {want}: a gradient has the shape of what it differentiates, here {rules[key]}"
    if got == want[::-1]:
        msg += " (yours is transposed)"
    elif len(want) == 1 and got in ((1,) + want, want + (1,)):
        msg += " (sum without keepdims)"
    return msg


def check_two_layer_backward(fn=None):
    """Exercise 06.4: ``fn(X, Y, W1, b1, W2, b2)`` returns the gradients of the mean cross-entropy of the two-layer
    network Z = relu(X W1ᵀ + b1) W2ᵀ + b2 for probability targets Y, as a dict with keys X, W1, b1, W2, b2."""
    for n, seed in ((5, 6), (1, 60)):  # N = 5 (all sizes differ), then a batch of one
        case = _two_layer_case(n, seed)
        X, Y, W1, b1, W2, b2 = case
        out, err = _run(fn, *case, as_array=False)
        if err:
            return _verdict(False, err)
        if not isinstance(out, dict):
            _, err = (None, None) if isinstance(out, (list, tuple)) else _numbers(out)
            return _verdict(False, err or f"return a dict of gradients, {{'X': ..., 'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}}, "
                                          f"not a {type(out).__name__}")
        missing = [k for k in _NET_KEYS if k not in out]
        if missing:
            return _verdict(False, f"no gradient for {missing[0]!r}: return a dict with the keys {', '.join(map(repr, _NET_KEYS))}")
        got = {}
        for key in _NET_KEYS:
            got[key], err = _numbers(out[key])
            if err:
                return _verdict(False, f"the gradient for {key!r}: " + err.replace("your function returned ", ""))
        want = _two_layer_grads(*case)
        for key in ("W2", "b2", "W1", "b1", "X"):
            if got[key].shape != want[key].shape:
                return _verdict(False, _shape_hint(key, got[key].shape, want[key].shape) + (" (with a batch of one)" if n == 1 else ""))
        if all(_same(got[k], want[k]) for k in _NET_KEYS):
            continue

        def like(grads, got=got):
            return all(_same(got[k], grads[k]) for k in _NET_KEYS)

        p = npF.softmax(np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, dim=1)
        hard = np.eye(3)[Y.argmax(axis=1)]
        if like({k: v * n for k, v in want.items()}) and n > 1:
            return _verdict(False, "that is the gradient of the summed loss: the mean divides dZ = P − Y by N")
        if like({k: -v for k, v in want.items()}):
            return _verdict(False, "the sign is flipped: dZ = (P − Y) / N, and every other gradient follows from it")
        if like(_two_layer_grads(*case, dZ=(p - hard) / n)):
            return _verdict(False, "you used the one-hot of the most likely class; the targets Y are probabilities "
                                   "(smoothed rows): dZ = (P − Y) / N with Y itself, since each row of Y sums to 1")
        if like(_two_layer_grads(*case, dZ=(npF.softmax(np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, dim=0) - Y) / n)) and n > 1:
            return _verdict(False, "the softmax runs over each row's classes (axis=1), not over the batch (axis=0)")
        if like(_two_layer_grads(*case, relu=False)):
            return _verdict(False, "the ReLU's derivative is missing: dA = dh ⊙ 1[A > 0], where A = X W1ᵀ + b1")
        if like(_two_layer_grads(*case, bias_sum=False)) and n > 1:
            return _verdict(False, "a bias's gradient sums over the batch (the 1/N is already in dZ): b2 gets dZ.sum(axis=0), not the mean")
        if _same(got["W2"], want["W2"]) and _same(got["b2"], want["b2"]):
            bad = next(k for k in ("W1", "b1", "X") if not _same(got[k], want[k]))
            if bad == "X":
                return _verdict(False, "the parameters' gradients are right, the input's is not: dX = dA W1 (N × D times "
                                       f"D × D_in), with dA = dh ⊙ 1[A > 0]. {_mismatch(got['X'], want['X'])}")
            return _verdict(False, f"W2 and b2 are right, so dZ is; the error is on the way back, in {bad!r}: dh = dZ W2, "
                                   f"dA = dh ⊙ 1[A > 0], then dW1 = dAᵀ X and db1 = Σ_n dA_n. {_mismatch(got[bad], want[bad])}")
        if _same(got["W2"], want["W2"]):
            return _verdict(False, f"W2 is right, b2 is not: ∂L/∂b2 = Σ_n dZ_n; {_mismatch(got['b2'], want['b2'])}")
        if _same(got["W2"], G.cross_entropy_grad(np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, Y).T @ (X @ W1.T + b1)):
            return _verdict(False, "W2 multiplies h = relu(A), not the pre-activation A: ∂L/∂W2 = dZᵀ h")
        return _verdict(False, f"the gradient for 'W2' is off, so dZ = (P − Y) / N probably is: {_mismatch(got['W2'], want['W2'])}")
    return _verdict(True, "dZ = (P − Y) / N, dW2 = dZᵀh, db2 = Σ dZ, dh = dZ W2, dA = dh ⊙ 1[A > 0], dW1 = dAᵀX, db1 = Σ dA, "
                          "dX = dA W1: every gradient has the shape of what it differentiates.")
