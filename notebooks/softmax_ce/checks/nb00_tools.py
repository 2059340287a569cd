"""Checkers of notebook 00 (tools): check_true_class_nll, check_normalise_rows, check_train_steps."""

import numpy as np

from .. import functional as npF
from .. import gradients as G
from ._harness import _broadcast_hint, _numbers, _run, _same, _shape_msg, _verdict

# 5 rows, 3 classes (N != C, so log_p[t, np.arange(N)] and np.arange(C) fail, and log_p[:, t] is N x N); the targets
# of rows 1 and 4 are not their rows' largest entries, so the predicted class's loss differs from the true class's.
_LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 3.0], [0.3, 1.1, 0.6], [-1.0, 0.4, 0.0]])
_LOG_P = npF.log_softmax(_LOGITS, dim=1)
_T = np.array([0, 2, 2, 1, 0])


def check_true_class_nll(fn=None):
    """Exercise 00.1: ``fn(log_p, t)`` is the per-sample loss −log_p[n, t_n], shape (N,), by integer-array indexing."""
    with np.errstate(all="ignore"):  # a log of log_p gives nan, which the hints below name
        out, err = _run(fn, _LOG_P, _T)
    if err:
        if "out of bounds" in err:
            err += " (rows first, then columns: log_p[np.arange(N), t] pairs row n with column t[n])"
        elif "could not be broadcast" in err:
            err += " (one row index per target: np.arange(N), N = len(t), not np.arange(C))"
        return _verdict(False, err)
    want = npF.nll_loss(_LOG_P, _T, reduction="none")
    n, c = _LOG_P.shape
    if out.shape == (n, n):
        return _verdict(False, "you got an N × N array: log_p[:, t] takes a whole column for every target; pick one "
                               "entry per row, log_p[np.arange(N), t]")
    if out.shape == (n, c) and (_same(out, _LOG_P[_T]) or _same(out, -_LOG_P[_T])):
        return _verdict(False, "log_p[t] picks whole rows (row t[n] for each n); pick one entry per row, log_p[np.arange(N), t]")
    if out.shape == () and (_same(out, want.mean()) or _same(out, want.sum())):
        return _verdict(False, "that is the " + ("mean" if _same(out, want.mean()) else "sum") + " over the batch; "
                               "return one loss per row, shape (N,)")
    if out.shape == (n, 1) and _same(out[:, 0], want):
        return _verdict(False, "right values, but shape (N, 1): return shape (N,), one loss per row")
    if msg := _shape_msg(out, want):
        return _verdict(False, msg + " (one loss per row)")
    if not np.all(np.isfinite(out)):
        return _verdict(False, "your losses hold nan/inf: log_p already holds log-probabilities, so take no log of it again")
    for value, hint in ((-want, "the sign is flipped: log-probabilities are ≤ 0, the loss −log p is ≥ 0"),
                        (np.exp(-want), "those are the probabilities p of the true classes; the loss is −log p, −log_p[n, t[n]]"),
                        (-_LOG_P.max(axis=1), "that is each row's loss for its predicted class (the largest entry); "
                                              "take the true class t[n]'s entry"),
                        (-_LOG_P.sum(axis=1), "you added up all C entries of each row; take only the true class t[n]'s entry"),
                        (-_LOG_P[np.arange(n), np.minimum(np.arange(n), c - 1)], "use the targets t as the column indices")):
        if _same(out, value):
            return _verdict(False, hint)
    if not _same(out, want):
        return _verdict(False, f"expected {np.round(want, 4).tolist()}, got {np.round(out, 4).tolist()}")
    one, err = _run(fn, _LOG_P[:1], _T[:1])  # N = 1: the batch axis must survive
    if err:
        return _verdict(False, f"for a batch of one row, shape (1, 3): {err}")
    if np.shape(one) != (1,):
        return _verdict(False, f"for a batch of one row the losses must have shape (1,), got {np.shape(one)} "
                               "(a squeeze() or [0] dropped the batch axis?)")
    return _verdict(True, "one loss per row, −log_p[np.arange(N), t], the same as npF.nll_loss(log_p, t, reduction='none').")


_COUNTS = np.array([[2.0, 1.0, 1.0], [0.5, 3.0, 0.5], [4.0, 4.0, 2.0], [1.0, 0.0, 9.0]])  # 4 x 3: N != C
_SQUARE = np.array([[1.0, 2.0, 5.0], [3.0, 3.0, 3.0], [6.0, 1.0, 1.0]])  # N = C: a missing keepdims runs, wrongly


def check_normalise_rows(fn=None):
    """Exercise 00.2: ``fn(A)`` divides each row of a non-negative (N, C) array by its sum, so every row sums to 1."""
    for A in (_COUNTS, _SQUARE):
        out, err = _run(fn, A)
        if err:
            return _verdict(False, _broadcast_hint(err))
        with np.errstate(divide="ignore"):  # log 0 = -inf, whose exponential is 0 again
            want = npF.softmax(np.log(A), dim=1)  # softmax(log A)_c = A_c / Σ_j A_j: each row divided by its sum
        if out.shape == A.T.shape != A.shape:
            return _verdict(False, f"expected shape {A.shape}, got {out.shape}: your result is transposed")
        if msg := _shape_msg(out, want):
            return _verdict(False, msg)
        if _same(out, want):
            continue
        if A.shape[0] == A.shape[1] and _same(out, A / A.sum(axis=1)[None, :]):
            return _verdict(False, f"for a square {A.shape} array, A / A.sum(axis=1) runs without an error but divides "
                                   "column j by the sum of row j: keep the summed axis, keepdims=True (shape (N, 1))")
        for value, hint in ((A / A.sum(axis=0, keepdims=True), "each column sums to 1: axis=0 sums over the rows; sum each row, axis=1"),
                            (A / A.sum(), "you divided by the sum of the whole array; divide each row by its own sum, axis=1"),
                            (A / A.max(axis=1, keepdims=True), "you divided by each row's largest entry; divide by its sum"),
                            (A / A.mean(axis=1, keepdims=True), "you divided by each row's mean, so rows sum to C; divide by the sum"),
                            (npF.softmax(A, dim=1), "that is the softmax of A (exponentials first); divide A itself by its row sums"),
                            (A * A.sum(axis=1, keepdims=True), "you multiplied by the row sums; divide by them")):
            if _same(out, value):
                return _verdict(False, hint)
        sums = out.sum(axis=1)
        if not np.allclose(sums, 1):
            return _verdict(False, f"each row should sum to 1, but yours sum to {np.round(sums, 4).tolist()}")
        return _verdict(False, f"rows sum to 1 but the values differ: for {A[0].tolist()} expected {np.round(want[0], 4).tolist()}, "
                               f"got {np.round(out[0], 4).tolist()}")
    one, err = _run(fn, _COUNTS[:1])  # N = 1: the batch axis must survive
    if err:
        return _verdict(False, f"for a batch of one row, shape (1, 3): {_broadcast_hint(err)}")
    if np.shape(one) != (1, 3):
        return _verdict(False, f"for a batch of one row, shape (1, 3), the result must keep shape (1, 3), got {np.shape(one)} "
                               "(a squeeze() or [0] dropped the batch axis?)")
    return _verdict(True, "A / A.sum(axis=1, keepdims=True): the (N, 1) row sums broadcast across each row, also for a square array.")


# Exercise 00.3: a linear model's mean cross-entropy, 6 samples, 2 features, 3 classes; 3 steps of size 0.5.
_X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, 0.2], [-1.2, -0.4], [0.9, 1.1]])
_Y = np.array([0, 1, 2, 1, 0, 2])
_W0 = np.array([[0.3, -0.2], [-0.1, 0.4], [0.2, 0.1]])
_B0 = np.array([0.1, -0.3, 0.0])
_LR, _STEPS = 0.5, 3


def _descent(lr=_LR, steps=_STEPS, sign=1.0, reduction="mean", accumulate=False, move_b=True):
    """(losses before each step, W, b) of gradient descent on the linear model, from the library's loss and gradient."""
    W, b, losses, sum_W, sum_b = _W0.copy(), _B0.copy(), [], 0.0, 0.0
    for _ in range(steps):
        Z = _X @ W.T + b
        losses.append(float(npF.cross_entropy(Z, _Y, reduction=reduction)))
        dZ = G.cross_entropy_grad(Z, _Y, reduction=reduction)
        grad_W, grad_b = dZ.T @ _X, dZ.sum(axis=0)
        if accumulate:  # .grad never reset: each step uses the sum of all gradients so far
            sum_W, sum_b = sum_W + grad_W, sum_b + grad_b
            grad_W, grad_b = sum_W, sum_b
        W = W - sign * lr * grad_W
        b = b - sign * lr * grad_b if move_b else b
    return losses, W, b


def _fresh_model():
    import torch

    model = torch.nn.Linear(2, 3, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(_W0))
        model.bias.copy_(torch.tensor(_B0))
    return model, torch.tensor(_X), torch.tensor(_Y)


def check_train_steps(fn=None):
    """Exercise 00.3: ``fn(model, X, t, lr, steps)`` runs ``steps`` steps of gradient descent on the mean cross-entropy,
    updating the model's parameters in place, and returns the list of losses, each taken before its step."""
    if fn is None or not callable(fn):
        return _verdict(False, _run(fn)[1])
    model, X, t = _fresh_model()
    raw, err = _run(fn, model, X, t, _LR, _STEPS, as_array=False)
    if err:
        if "leaf Variable" in err:
            err += " (update the parameters inside `with torch.no_grad():`, where autograd records nothing)"
        elif "backward through the graph a second time" in err:
            err = ("your function raised RuntimeError: Trying to backward through the graph a second time (compute the loss "
                   "anew in every step, model(X) inside the loop: backward() frees the graph it used)")
        elif "does not require grad" in err:
            err += " (the loss must come from model(X) with autograd on: no torch.no_grad() or .detach() around the forward pass)"
        return _verdict(False, err)
    losses, err = _numbers(raw)
    if err:
        return _verdict(False, err)
    W, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    want_losses, want_W, want_b = _descent()
    if not (_same(W, want_W) and _same(b, want_b)):
        if _same(W, _W0) and _same(b, _B0):
            return _verdict(False, "the model's parameters did not move: update them in place, param -= lr * param.grad "
                                   "inside torch.no_grad() (param = param - lr * param.grad only makes a new tensor named param)")
        variants = [(dict(accumulate=True), "the gradients added up over the steps: backward() adds into .grad, so reset "
                                            "it in every step (param.grad = None, or optimizer.zero_grad())"),
                    (dict(sign=-1.0), "the parameters moved up the gradient: subtract lr times the gradient"),
                    (dict(reduction="sum"), "those steps follow the gradient of the summed loss; use the mean, "
                                            "F.cross_entropy's default reduction"),
                    (dict(move_b=False), "the weight moved but the bias did not: update every parameter, "
                                         "for param in model.parameters()")]
        variants += [(dict(steps=k), f"the parameters are where {k} step{'s' * (k != 1)} take them, not {_STEPS}: "
                                     "run the loop `steps` times") for k in (1, _STEPS - 1, _STEPS + 1)]
        variants += [(dict(lr=lr), "use the lr argument as the step size") for lr in (0.1, 0.01, 0.001, 1.0)]
        for options, hint in variants:
            _, other_W, other_b = _descent(**options)
            if _same(W, other_W) and _same(b, other_b):
                return _verdict(False, hint)
        return _verdict(False, f"after {_STEPS} steps the weight should be {np.round(want_W, 4).tolist()}, "
                               f"got {np.round(W, 4).tolist()}")
    if losses.shape != (_STEPS,):
        return _verdict(False, f"the parameters are right; return the list of the {_STEPS} losses, one per step, "
                               f"got shape {losses.shape}")
    if _same(losses, _descent(steps=_STEPS + 1)[0][1:]):
        return _verdict(False, "the parameters are right, but each loss is taken after its step; record the loss "
                               "backward() was called on, before the update")
    if not _same(losses, want_losses):
        return _verdict(False, f"the parameters are right, but the losses should be {np.round(want_losses, 4).tolist()}, "
                               f"got {np.round(losses, 4).tolist()}")
    return _verdict(True, f"{_STEPS} steps of param −= lr · param.grad; the loss fell {' → '.join(f'{v:.4f}' for v in want_losses)}.")
