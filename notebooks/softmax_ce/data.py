"""Small seeded toy data sets, made offline: a C-class spiral and two moons (notebook 08).

Every function takes a ``seed`` and returns the same arrays for the same arguments on every machine:
features ``X`` (N, 2) float64 and labels ``y`` (N,) int64.
"""

import numpy as np

from . import validation as check


def spiral(n_per_class=200, n_classes=3, noise=0.2, seed=0):
    """C interleaved spiral arms: arm k at radius r in [0, 1] sits at angle 4r + 2πk/C (+ Gaussian noise · 1)."""
    check.positive_int(n_per_class, "n_per_class")
    check.positive_int(n_classes, "n_classes", minimum=2)
    check.finite_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    angle = 4.0 * radius + 2 * np.pi * y / n_classes + rng.normal(scale=noise, size=radius.shape)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, y


def two_moons(n_samples=300, noise=0.15, seed=0):
    """Two interleaving half circles (class 0 on top, class 1 below), with Gaussian noise of std ``noise``."""
    check.positive_int(n_samples, "n_samples", minimum=2)
    check.finite_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    n0 = n_samples // 2
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n_samples - n0)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([top, bottom]) + rng.normal(scale=noise, size=(n_samples, 2))
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n_samples - n0, dtype=np.int64)])
    return X, y


def train_val_split(X, y, val_fraction=0.3, seed=0):
    """Shuffle once with ``seed``, then split: returns X_train, X_val, y_train, y_val."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    n_val = int(round(len(X) * val_fraction))
    if n_val == 0 or n_val == len(X):
        raise ValueError(f"val_fraction={val_fraction} leaves an empty split for {len(X)} samples")
    order = np.random.default_rng(seed).permutation(len(X))
    val, train = order[:n_val], order[n_val:]
    return X[train], X[val], y[train], y[val]
