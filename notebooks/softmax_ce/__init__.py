"""The course's helper package: NumPy twins of torch.nn.functional, exercise checkers, plot style.

Notebooks import it as ``from softmax_ce import functional as npF`` (npF: "NumPy F", next to torch's F).
It imports no notebook, tool or test.
"""

import random

import numpy as np

from . import checks, functional, plotting

__all__ = ["checks", "fmt", "functional", "plotting", "seed_everything"]


def seed_everything(seed=0):
    """Seed Python's, NumPy's and torch's random generators; return a fresh ``np.random.Generator``."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)



def fmt(values, digits=4):
    """Numbers as fixed-precision text, e.g. ``[0.6590 0.2424 0.0986]``: the same on every NumPy version."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return f"{float(arr):.{digits}f}"
    return np.array2string(arr, precision=digits, floatmode="fixed", suppress_small=True, separator=" ")
