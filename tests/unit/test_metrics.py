"""Calibration metrics against a direct, loop-based reading of their definitions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import metrics


def ece_by_loops(conf, correct, n_bins):
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i, c in enumerate(conf) if (lo < c <= hi) or (b == 0 and c == 0)]
        if members:
            acc = np.mean([correct[i] for i in members])
            mean_conf = np.mean([conf[i] for i in members])
            total += len(members) / len(conf) * abs(acc - mean_conf)
    return total


@given(hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1)), st.integers(1, 15), st.data())
def test_ece_matches_its_definition(conf, n_bins, data):
    correct = data.draw(hnp.arrays(np.bool_, conf.shape))
    assert np.isclose(metrics.expected_calibration_error(conf, correct, n_bins), ece_by_loops(conf, correct, n_bins))


def test_perfectly_calibrated_and_overconfident():
    conf = np.full(10, 0.8)
    assert metrics.expected_calibration_error(conf, np.arange(10) < 8) == pytest.approx(0.0)
    assert metrics.expected_calibration_error(np.full(10, 0.99), np.arange(10) < 5) == pytest.approx(0.49)


def test_reliability_bins_counts_and_empty_bins():
    count, conf, acc = metrics.reliability_bins([0.05, 0.15, 0.15, 1.0], [True, False, True, True], n_bins=10)
    assert count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert acc[1] == 0.5 and np.isnan(acc[2]) and conf[9] == 1.0


@pytest.mark.parametrize("args, match", [
    (([0.5, 0.7], [True]), "same length"),
    (([1.5], [True]), r"probabilities in \[0, 1\]"),
    (([0.5], [2]), "booleans or 0/1"),
    (([0.5], [True], 0), "n_bins must be an int >= 1"),
    (([[0.5]], [[True]]), "1-D"),
])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        metrics.expected_calibration_error(*args)


@pytest.mark.parametrize("n_bins", [3, 7, 10, 25, 100])
def test_bin_edges_belong_to_the_lower_bin(n_bins):
    edges = np.arange(1, n_bins) / n_bins
    count, _, _ = metrics.reliability_bins(edges, np.ones(len(edges), dtype=bool), n_bins)
    assert count.tolist() == [1] * (n_bins - 1) + [0]  # b/B closes bin b-1, for every b
