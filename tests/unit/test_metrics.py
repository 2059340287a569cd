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


@given(hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1)), st.integers(1, 12), st.integers(1, 6),
       st.integers(1, 50), st.data())
def test_resampled_ece_is_the_ece_of_each_resample(conf, n_bins, n_resamples, n_draws, data):
    correct = data.draw(hnp.arrays(np.bool_, conf.shape))
    indices = data.draw(hnp.arrays(np.int64, (n_resamples, n_draws), elements=st.integers(0, len(conf) - 1)))
    got = metrics.resampled_ece(conf, correct, indices, n_bins)
    want = [ece_by_loops([conf[i] for i in row], [correct[i] for i in row], n_bins) for row in indices]
    assert got.shape == (n_resamples,) and np.allclose(got, want)


def test_resampled_ece_of_a_bootstrap():
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.3, 1.0, size=200)
    correct = rng.random(200) < conf ** 2  # overconfident
    indices = rng.integers(0, 200, size=(300, 200))
    got = metrics.resampled_ece(conf, correct, indices, n_bins=10)
    assert np.allclose(got, [metrics.expected_calibration_error(conf[row], correct[row], 10) for row in indices])
    identity = metrics.resampled_ece(conf, correct, np.arange(200)[None, :], n_bins=10)
    assert np.isclose(identity[0], metrics.expected_calibration_error(conf, correct, 10))


@pytest.mark.parametrize("indices, match", [
    (np.array([0, 1]), "2-D integer array"),
    (np.array([[0.0, 1.0]]), "2-D integer array"),
    (np.zeros((2, 0), dtype=int), "at least one draw"),
    (np.array([[0, 3]]), r"lie in \[0, 3\)"),
    (np.array([[-1, 0]]), r"lie in \[0, 3\)"),
])
def test_resampled_ece_bad_indices(indices, match):
    with pytest.raises(ValueError, match=match):
        metrics.resampled_ece([0.5, 0.7, 0.9], [True, False, True], indices)
