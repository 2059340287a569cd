"""Hypothesis strategies and comparison helpers shared by the tests against torch."""

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_ce import functional as npF

DTYPES = st.sampled_from([np.float32, np.float64])
SCALES = st.sampled_from([1.0, 30.0, 1e4])
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def rtol_for(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-10


def assert_close(ours, theirs, dtype, scale=1.0):
    """Equal up to the dtype's tolerance; absolute slack grows with the logits' magnitude."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != torch's {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"dtype {ours.dtype} != torch's {theirs.dtype}"
    rtol = rtol_for(dtype)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * max(1.0, scale))


@st.composite
def logits(draw, min_dims=1, max_dims=4, max_side=5):
    dtype = draw(DTYPES)
    scale = draw(SCALES)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side))
    x = draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=32)))
    return (x * scale).astype(dtype), scale


@st.composite
def class_problem(draw, probs=False):
    """Logits of shape (C,), (N, C) or (N, C, d1[, d2]) with matching targets and options."""
    dtype = draw(DTYPES)
    scale = draw(SCALES)
    n_classes = draw(st.integers(1, 6))
    layout = draw(st.sampled_from(["unbatched", "batched", "k1", "k2"]))
    extra = {"unbatched": (), "batched": (), "k1": (draw(st.integers(1, 3)),), "k2": (2, draw(st.integers(1, 3)))}[layout]
    n = draw(st.integers(0 if layout == "batched" else 1, 6))
    shape = (n_classes,) if layout == "unbatched" else (n, n_classes, *extra)
    class_dim = 0 if layout == "unbatched" else 1
    x = (draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=32))) * scale).astype(dtype)
    batch_shape = shape[:class_dim] + shape[class_dim + 1:]
    opts = {
        "reduction": draw(REDUCTIONS),
        "weight": draw(st.none() | hnp.arrays(dtype, (n_classes,), elements=st.floats(0.125, 3, width=32))),
        "label_smoothing": draw(st.sampled_from([0.0, 0.0, 0.1, 0.35, 1.0])),
    }
    if probs:
        raw = draw(hnp.arrays(dtype, shape, elements=st.floats(-3, 3, width=32)))
        target = npF.softmax(raw, dim=class_dim).astype(dtype)
        if draw(st.booleans()):  # hard one-hot targets, given as probabilities
            target = (target == target.max(axis=class_dim, keepdims=True)).astype(dtype)
        return x, target, opts, scale
    target = draw(hnp.arrays(np.int64, batch_shape, elements=st.integers(0, n_classes - 1)))
    ignore_index = draw(st.sampled_from([-100, 0, n_classes - 1]))
    if ignore_index == -100 and target.size:
        mask = draw(hnp.arrays(np.bool_, batch_shape))
        target = np.where(mask, -100, target)
    opts["ignore_index"] = ignore_index
    return x, target, opts, scale


def torch_opts(opts):
    return {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in opts.items()}


@st.composite
def binary_problem(draw):
    x, scale = draw(logits(max_dims=3))
    y = draw(hnp.arrays(x.dtype, x.shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0, 1, width=32)))
    opts = {"reduction": draw(REDUCTIONS)}
    if draw(st.booleans()):
        opts["weight"] = draw(hnp.arrays(x.dtype, draw(st.sampled_from([x.shape, x.shape[-1:]])), elements=st.floats(0, 3, width=32)))
    return x, y, opts, scale
