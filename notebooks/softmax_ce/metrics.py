"""Calibration metrics for notebook 08: how far a classifier's confidence is from its accuracy.

A prediction's confidence is its largest softmax probability. Binning the predictions by confidence, a
calibrated model is right 80% of the time on the predictions it makes with 80% confidence.
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


def reliability_bins(confidences, correct, n_bins=10):
    """Per equal-width confidence bin (lo, hi]: (count, mean confidence, accuracy); empty bins give nan."""
    conf, hit = _check(confidences, correct, n_bins)
    edges = np.arange(1, n_bins) / n_bins  # inner edges b / B, compared exactly: bin b is (b/B, (b+1)/B]
    which = np.searchsorted(edges, conf, side="left")  # confidence 0 goes to bin 0
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=hit, minlength=n_bins) / count
    return count, mean_conf, accuracy


def expected_calibration_error(confidences, correct, n_bins=10):
    """ECE = Σ_b (n_b / N) |accuracy_b − confidence_b| over equal-width confidence bins (Guo et al., 2017)."""
    count, mean_conf, accuracy = reliability_bins(confidences, correct, n_bins)
    used = count > 0
    return float(np.sum(count[used] / count.sum() * np.abs(accuracy[used] - mean_conf[used])))
