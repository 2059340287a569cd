"""The course's helper package: NumPy twins of torch.nn.functional, exercise checkers, plot style.

Notebooks import it as ``from softmax_ce import functional as npF`` (npF: "NumPy F", next to torch's F).
It imports no notebook, tool or test.
"""

import os
import random

import numpy as np

from . import checks, data, functional, gradients, metrics, plotting

__all__ = ["checks", "data", "fmt", "functional", "gradients", "metrics", "plotting", "progress", "seed_everything"]


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


def progress(iterable, **kwargs):
    """A tqdm progress bar for a person running the notebook; none when SOFTMAX_CE_NO_PROGRESS is set.

    Tests (nbval) and ``make outputs`` set that variable, so no bar, with its timings, lands in stored outputs.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=bool(os.environ.get("SOFTMAX_CE_NO_PROGRESS")), **kwargs)
