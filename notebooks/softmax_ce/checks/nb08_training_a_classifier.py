"""Checkers of notebook 08 (training_a_classifier): check_sgd_step, check_ece, check_best_temperature."""

import math

import numpy as np

from .. import functional as npF
from .. import metrics
from ._harness import _numbers, _run, _same, _verdict


def _sgd_reference(W, b, X, t, lr):
    dZ = (npF.softmax(X @ W.T + b, dim=1) - np.eye(W.shape[0])[t]) / len(t)
    return W - lr * dZ.T @ X, b - lr * dZ.sum(axis=0), dZ


def check_sgd_step(fn=None):
    """Exercise 08.1: ``fn(W, b, X, t, lr)`` returns (W, b) after one SGD step on the mean cross-entropy of softmax(X Wᵀ + b)."""
    rng = np.random.default_rng(8)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    X, t, lr = rng.normal(size=(6, 2)), np.array([0, 1, 1, 0, 1, 0]), 0.5  # class 2 is absent from this batch
    out, err = _run(fn, W, b, X, t, lr, as_array=False)
    if err:
        return _verdict(False, err)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return _verdict(False, "return the pair (new_W, new_b)")
    (new_W, err_W), (new_b, err_b) = (_numbers(v) for v in out)
    if err_W or err_b:
        return _verdict(False, "(new_W, new_b) must be arrays of numbers: " + (err_W or err_b).replace("your function returned", "got"))
    want_W, want_b, dZ = _sgd_reference(W, b, X, t, lr)
    if new_W.shape != W.shape or new_b.shape != b.shape:
        return _verdict(False, f"new_W must keep shape {W.shape} and new_b shape {b.shape}; got {new_W.shape} and {new_b.shape}")
    if _same(new_W, want_W) and _same(new_b, want_b):
        return _verdict(True, "W −= lr · (P − Y)ᵀX / N and b −= lr · Σ_n (P − Y)_n / N.")
    if _same(new_W, W + lr * dZ.T @ X):
        return _verdict(False, "W moved up the gradient: subtract lr times the gradient")
    if _same(new_W, W - lr * len(t) * dZ.T @ X):
        return _verdict(False, "that step uses the gradient of the summed loss; the mean divides (P − Y) by N")
    if _same(new_W, want_W) and _same(new_b, b):
        return _verdict(False, "W is right but b did not move: its gradient is the sum over samples of (P − Y) / N")
    if not _same(new_W, want_W):
        return _verdict(False, f"new_W is off: the gradient is (P − Y)ᵀ X / N, shape {W.shape}; expected row 0 {np.round(want_W[0], 4).tolist()}")
    return _verdict(False, f"new_b is off: expected {np.round(want_b, 4).tolist()}")


def check_ece(fn=None):
    """Exercise 08.2: ``fn(confidences, correct, n_bins)`` is the expected calibration error over equal-width bins."""
    rng = np.random.default_rng(80)
    conf = np.concatenate([rng.uniform(0.3, 1.0, size=200), [0.0, 1.0, 1.0, 0.5, 0.7, 0.6, 0.625, 0.625]])  # 0, 1, edges
    correct = rng.random(208) < np.where(conf > 0.6, conf ** 3, np.sqrt(conf))  # under- and overconfident bins
    correct[205:] = [True, True, True]  # 0.6 and 0.625 are right: moved to the next bin they change its gap
    correct[200:203] = [True, False, False]  # a confidence of 0 that is right, of 1.0 that is wrong: dropping or moving
    # them changes the ECE, and so does moving 0.6, between bins whose gaps differ in sign: [lo, hi) bins show
    for n_bins in (7, 10, 8):  # 0.625 = 5/8 is an exact edge in binary: [lo, hi) bins move it
        out, err = _run(fn, conf, correct, n_bins)
        if err:
            return _verdict(False, err)
        want = metrics.expected_calibration_error(conf, correct, n_bins)
        if out.shape != ():
            return _verdict(False, f"expected one number, got shape {out.shape}")
        if not math.isclose(float(out), want, rel_tol=1e-6):
            break
    else:
        return _verdict(True, f"ECE = Σ_b (n_b / N) |acc_b − conf_b| = {want:.4f} for these predictions.")
    got = float(out)
    if n_bins == 7 and math.isclose(got, metrics.expected_calibration_error(conf, correct, 10), rel_tol=1e-6):
        return _verdict(False, "with n_bins=7 you still used 10 bins: use the n_bins argument")
    count, mean_conf, acc = metrics.reliability_bins(conf, correct, n_bins)
    used = count > 0
    if math.isclose(got, float(np.mean(np.abs(acc[used] - mean_conf[used]))), rel_tol=1e-6):
        return _verdict(False, "you averaged the bins equally; weight each bin's gap by its share of the samples, n_b / N")
    if math.isclose(got, abs(float(correct.mean()) - float(conf.mean())), rel_tol=1e-6):
        return _verdict(False, "that is |accuracy − mean confidence| over all predictions; compare them bin by bin")
    return _verdict(False, f"with n_bins={n_bins} expected {want:.4f}, got {got:.4f} "
                           "(bins are (b/B, (b+1)/B]: is a confidence of exactly 1.0, or of 0, counted?)")


def _temperature_case():
    """Overconfident logits: labels drawn from softmax(z / 2.5), so the NLL is lowest near T = 2.5."""
    rng = np.random.default_rng(83)
    logits = 4.0 * rng.normal(size=(300, 4))
    probs = npF.softmax(logits / 2.5, dim=1)
    labels = np.array([rng.choice(4, p=row) for row in probs])
    Ts = np.array([3.5, 2.5, 1.5, 1.2, 50.0, 2.0, 5.0])  # unsorted; the best (2.5) is not first, its index (1) is no
    # candidate nor the sorted list's entry there (1.5), the worst (50) is not the best of softmax(z * T) (1.2)
    return logits, labels, Ts


def check_best_temperature(fn=None):
    """Exercise 08.3: ``fn(logits, labels, Ts)`` is the T in ``Ts`` whose softmax(logits / T) has the lowest mean NLL."""
    logits, labels, Ts = _temperature_case()
    out, err = _run(fn, logits, labels, Ts)
    if err:
        return _verdict(False, err)
    if out.shape != ():
        return _verdict(False, f"expected one temperature, got shape {out.shape}")
    got = float(out)
    nll = np.array([float(npF.cross_entropy(logits / T, labels)) for T in Ts])
    want = float(Ts[np.argmin(nll)])
    if math.isclose(got, want):
        return _verdict(True, f"T = {want} gives the lowest NLL ({nll.min():.4f}); the accuracy is the same for every "
                              "T > 0, so it could not have chosen.")
    if got == float(np.argmin(nll)):
        return _verdict(False, "that is the position of the best temperature in Ts; return the temperature itself, Ts[i]")
    if math.isclose(got, float(Ts[np.argmax(nll)])):
        return _verdict(False, "that T has the highest NLL: the best one minimises it")
    if math.isclose(got, float(Ts[np.argmin([float(npF.cross_entropy(logits * T, labels)) for T in Ts])])):
        return _verdict(False, "you multiplied the logits by T; temperature divides them: softmax(z / T)")
    if math.isclose(got, float(Ts[0])):
        return _verdict(False, f"you returned the first candidate, {Ts[0]}: if you compared accuracies, they are all the "
                               "same (dividing by T > 0 keeps every argmax), so compare the NLL instead")
    if math.isclose(got, float(nll.min())):
        return _verdict(False, "that is the lowest NLL itself; return the temperature that gives it")
    if got not in Ts:
        return _verdict(False, f"{got} is not one of the candidates {Ts.tolist()}")
    return _verdict(False, f"T = {got} has NLL {nll[list(Ts).index(got)]:.4f}, but another candidate does better")
