"""The toy data sets: right shapes and labels, the same arrays for the same seed, clean splits, clear errors."""

import numpy as np
import pytest

from softmax_ce import data


@pytest.mark.parametrize("make, n, classes", [(lambda s: data.spiral(50, 4, 0.2, seed=s), 200, 4),
                                              (lambda s: data.two_moons(101, 0.1, seed=s), 101, 2)])
def test_shapes_labels_and_seeding(make, n, classes):
    X, y = make(0)
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(classes))
    assert np.abs(np.bincount(y) - n / classes).max() <= 1
    X2, y2 = make(0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make(1)[0])


def test_spiral_without_noise_lies_on_its_arms():
    X, y = data.spiral(20, 3, noise=0.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    angle = np.arctan2(X[:, 0], X[:, 1])
    expected = 4 * radius + 2 * np.pi * y / 3
    away_from_centre = radius > 0  # at radius 0 every arm starts at the origin, where the angle is undefined
    assert np.allclose(np.cos(angle - expected)[away_from_centre], 1.0)


def test_train_val_split_is_a_partition():
    X, y = data.spiral(30, 3)
    Xtr, Xva, ytr, yva = data.train_val_split(X, y, val_fraction=0.25, seed=3)
    assert len(Xva) == round(0.25 * len(X)) and len(Xtr) + len(Xva) == len(X)
    rows = {tuple(r) for r in np.concatenate([Xtr, Xva])}
    assert rows == {tuple(r) for r in X}
    assert sorted(np.concatenate([ytr, yva])) == sorted(y)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: data.spiral(0), ValueError, "n_per_class must be an int >= 1"),
    (lambda: data.spiral(10, n_classes=1), ValueError, "n_classes must be an int >= 2"),
    (lambda: data.spiral(10.5), TypeError, "n_per_class must be an int"),
    (lambda: data.two_moons(100, noise=-1), ValueError, "noise must be"),
    (lambda: data.train_val_split(np.zeros((4, 2)), np.zeros(3)), ValueError, "4 rows but y has 3"),
    (lambda: data.train_val_split(np.zeros((4, 2)), np.zeros(4), val_fraction=1.0), ValueError, "strictly between"),
    (lambda: data.train_val_split(np.zeros((2, 2)), np.zeros(2), val_fraction=0.1), ValueError, "empty split"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
