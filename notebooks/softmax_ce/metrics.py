"""Calibration metrics for notebook 08: how far a classifier's confidence is from its accuracy.

A prediction's confidence is its largest softmax probability. Binning the predictions by confidence, a
calibrated model is right 80% of the time on the predictions it makes with 80% confidence.

The expected calibration error (ECE) comes from Naeini, Cooper & Hauskrecht (2015), "Obtaining Well Calibrated
Probabilities Using Bayesian Binning", AAAI; Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural
Networks", ICML, applied it to the top-class confidence of neural networks, as here.
"""

import numpy as np

from . import validation as check


def _check(confidences, correct, n_bins):
    conf = np.asarray(confidences, dtype=np.float64)
    hit = np.asarray(correct)
    if conf.ndim != 1 or hit.shape != conf.shape:
        raise ValueError(f"confidences and correct must be 1-D of the same length, got {conf.shape} and {hit.shape}")
    if hit.dtype != np.bool_ and not np.isin(hit, (0, 1)).all():
        raise ValueError("correct must hold booleans or 0/1")
    check.probabilities(conf, "confidences")
    check.positive_int(n_bins, "n_bins")
    return conf, hit.astype(np.float64)


def _bin_of(conf, n_bins):
    edges = np.arange(1, n_bins) / n_bins  # inner edges b / B, compared exactly: bin b is (b/B, (b+1)/B]
    return np.searchsorted(edges, conf, side="left")  # confidence 0 goes to bin 0


def reliability_bins(confidences, correct, n_bins=10):
    """Per equal-width confidence bin (lo, hi]: (count, mean confidence, accuracy); empty bins give nan."""
    conf, hit = _check(confidences, correct, n_bins)
    which = _bin_of(conf, n_bins)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=hit, minlength=n_bins) / count
    return count, mean_conf, accuracy


def expected_calibration_error(confidences, correct, n_bins=10):
    """ECE = Σ_b (n_b / N) |accuracy_b − confidence_b| over equal-width confidence bins (Naeini et al., 2015)."""
    count, mean_conf, accuracy = reliability_bins(confidences, correct, n_bins)
    used = count > 0
    return float(np.sum(count[used] / count.sum() * np.abs(accuracy[used] - mean_conf[used])))


def resampled_ece(confidences, correct, indices, n_bins=10):
    """The ECE of every resample at once: row r of ``indices`` (R, M) lists the predictions resample r draws (a
    bootstrap draws them with replacement), and entry r of the result is
    ``expected_calibration_error(confidences[indices[r]], correct[indices[r]], n_bins)``.

    Vectorised for a bootstrap: each prediction's bin is found once, then one ``bincount`` over (resample, bin)
    pairs gives every resample's per-bin sums; Σ_b (n_b / M) |acc_b − conf_b| = Σ_b |hits_b − Σ conf_b| / M.
    """
    conf, hit = _check(confidences, correct, n_bins)
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.shape[1] == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be a 2-D integer array (resamples, draws) with at least one draw, got "
                         f"shape {idx.shape} of dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= len(conf)):
        raise ValueError(f"indices must lie in [0, {len(conf)}), got {idx.min()} to {idx.max()}")
    n_resamples, n_draws = idx.shape
    cell = (np.arange(n_resamples)[:, None] * n_bins + _bin_of(conf, n_bins)[idx]).ravel()  # (resample, bin) as one int
    size = n_resamples * n_bins
    conf_sum = np.bincount(cell, weights=conf[idx].ravel(), minlength=size).reshape(n_resamples, n_bins)
    hit_sum = np.bincount(cell, weights=hit[idx].ravel(), minlength=size).reshape(n_resamples, n_bins)
    return np.abs(hit_sum - conf_sum).sum(axis=1) / n_draws
