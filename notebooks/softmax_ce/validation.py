"""Argument checks shared by every module of the package: one place per rule, one wording per mistake.

Each check raises a ``TypeError`` (wrong kind of value) or a ``ValueError`` (right kind, wrong value) whose message
names the argument, what it must be, what it got, and where it helps, the fix. Checks that normalise return the
normalised value.
"""

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- plain numbers


def positive_int(value, name, minimum=1):
    """``value`` as an int ≥ ``minimum``; bools, floats and strings are a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def finite_number(value, name, low=-np.inf, high=np.inf, low_open=False):
    """``value`` as a float in [low, high] (or (low, high] with ``low_open``); NaN and infinities are rejected.

    Any real scalar is accepted (int, float, NumPy scalars and 0-d arrays, a one-element torch tensor); bools and
    strings are not numbers here."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.ndim(value) != 0 or getattr(value, "dtype", None) == np.bool_:
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}") from None
    left = "(" if low_open else "["
    bounds = (f"{'>' if low_open else '>='} {low:g}" if np.isinf(high) else
              f"<= {high:g}" if np.isinf(low) else f"in {left}{low:g}, {high:g}]")
    if not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number{'' if np.isinf(low) and np.isinf(high) else ' ' + bounds}, got {v:g}")
    if v < low or v > high or (low_open and v == low):
        raise ValueError(f"{name} must be {bounds}, got {v:g}")
    return v


def label_smoothing(value):
    """``label_smoothing`` ε as a float in [0, 1] (torch's range)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"label_smoothing must be a number, got {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {value}")
    return float(value)


def reduction(value, allowed=REDUCTIONS):
    """One of ``allowed``: by default 'mean', 'sum', 'none'; a loss with more (e.g. 'batchmean') passes its own tuple."""
    if not isinstance(value, str):
        raise TypeError(f"reduction must be a string, got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"unknown reduction {value!r}; expected one of {tuple(allowed)}")
    return value


# ----------------------------------------------------------------------------- arrays


def float_array(x, name):
    """``x`` as a floating-point ndarray; TypeError for anything else (ints, bools, strings, torch tensors...)."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor: be explicit, not magic
        raise TypeError(f"{name} is a torch tensor; pass a NumPy array (tensor.numpy()) instead")
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array (float32 or float64), got dtype {arr.dtype}; "
            f"convert it with np.asarray({name}, dtype=float)"
        )
    return arr


def dim_index(dim, ndim, name="dim"):
    """``dim`` normalised to 0..ndim-1 (a 0-d array behaves like 1-d, as in torch)."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(dim).__name__}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise ValueError(f"{name}={dim} is out of range for an input with {ndim} dimension(s)")
    return int(dim) % size


def probabilities(p, name):
    """Every entry of ``p`` in [0, 1] (NaN is not a probability)."""
    bad = np.isnan(p) | (p < 0) | (p > 1)
    if np.any(bad):
        raise ValueError(f"{name} must hold probabilities in [0, 1]; found {p[bad].flat[0]:.4g} (is it a logit?)")
    return p


def same_shape(x, y):
    """``target`` (y) has the shape of ``input`` (x)."""
    if x.shape != y.shape:
        raise ValueError(f"target shape {y.shape} must equal input shape {x.shape}; e.g. use target.reshape(input.shape)")


def has_shape(arr, name, expected, layout):
    """``arr`` has the shape ``expected``, a tuple whose ``None`` entries match any size (``(None, None)``: any 2-d array).

    ``layout`` says the shape in words for the message, e.g. ``"(N, C): one row of logits per sample"``.
    """
    if arr.ndim != len(expected) or any(e is not None and s != e for s, e in zip(arr.shape, expected)):
        raise ValueError(f"{name} must have shape {layout}; got shape {arr.shape}")
    return arr


def broadcasts(arr, shape, name):
    """``arr`` broadcasts to ``shape`` (as torch's weight and pos_weight must)."""
    try:
        np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} does not broadcast to the input shape {shape}") from None


# ----------------------------------------------------------------------------- classes


def split_class_dim(x):
    """Class dimension and batch shape of an input of shape (C,), (N, C) or (N, C, d1, ..., dK)."""
    if x.ndim == 0:
        raise ValueError("input must have at least 1 dimension: (C,), (N, C) or (N, C, d1, ..., dK); got a 0-d array")
    class_dim = 0 if x.ndim == 1 else 1
    batch_shape = x.shape[:class_dim] + x.shape[class_dim + 1:]
    return class_dim, batch_shape


def class_weight(weight, n_classes, dtype):
    """The per-class weight as an array of shape (C,) in ``dtype``; ones when ``weight`` is None."""
    if weight is None:
        return np.ones(n_classes, dtype=dtype)
    w = float_array(weight, "weight")
    if w.shape != (n_classes,):
        raise ValueError(f"weight must have shape ({n_classes},), one entry per class; got {w.shape}")
    return w.astype(dtype)


def class_indices(target, batch_shape, n_classes, ignore_index):
    """``target`` as an integer array of shape ``batch_shape`` with entries in 0..C-1 or equal to ``ignore_index``."""
    t = np.asarray(target)
    if np.issubdtype(t.dtype, np.floating):
        raise TypeError(
            f"class-index targets must be integers, got {t.dtype}; use target.astype(np.int64) "
            f"(or, for class probabilities, a target with the same shape as input)"
        )
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"class-index targets must be integers, got {t.dtype}; use target.astype(np.int64)")
    # torch's rule: int64 always; uint8 only for an input of shape (C,) or (N, C); every other integer type is refused
    # ("expected target dtype to be Long or Byte"; with spatial dimensions d1..dK, "expected scalar type Long").
    is_int64 = t.dtype.kind == "i" and t.dtype.itemsize == 8
    is_uint8 = t.dtype.kind == "u" and t.dtype.itemsize == 1
    if not is_int64 and not (is_uint8 and len(batch_shape) <= 1):
        if is_uint8:
            raise TypeError(
                f"class-index targets of shape {t.shape} (an input with dimensions d1, ..., dK after the classes) must "
                f"be int64, got uint8: torch accepts uint8 only for an input of shape (C,) or (N, C); "
                f"use target.astype(np.int64)"
            )
        accepted = "int64 (or uint8)" if len(batch_shape) <= 1 else "int64"
        raise TypeError(
            f"class-index targets must be {accepted}, got {t.dtype}: torch's cross_entropy and nll_loss refuse "
            f"{t.dtype} too; use target.astype(np.int64)"
        )
    if t.shape != batch_shape:
        if t.ndim and len(batch_shape) and t.shape[0] != batch_shape[0]:
            raise ValueError(f"batch sizes differ: input has N={batch_shape[0]} but target has {t.shape[0]}")
        raise ValueError(f"target has shape {t.shape} but input of this shape needs class indices of shape {batch_shape}")
    counted = t[t != ignore_index]
    if counted.size and counted.min() < 0:
        raise ValueError(f"class index {counted.min()} is negative (and is not ignore_index={ignore_index})")
    if counted.size and counted.max() >= n_classes:
        raise ValueError(f"class index {counted.max()} is out of range for {n_classes} classes (0..{n_classes - 1})")
    return t


# ----------------------------------------------------------------------------- torch tensors and random draws
# (torch is imported inside these checks: the NumPy modules that import this one do not need it)


def numpy_generator(rng, name="rng"):
    """``rng`` is a NumPy ``Generator``: draws are then reproducible from its seed, as every random choice in the course."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator, e.g. np.random.default_rng(0); got {type(rng).__name__}")
    return rng


def class_index_tensor(ids, name, n_classes, ndims=(1,)):
    """``ids`` is an int64 torch tensor of class indices in 0..C-1 with one of ``ndims`` dimensions."""
    import torch

    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.int64:
        raise TypeError(f"{name} must be a torch tensor of class indices of dtype int64; got "
                        f"{getattr(ids, 'dtype', type(ids).__name__)}: use torch.as_tensor({name}, dtype=torch.int64)")
    if ids.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimension(s); got shape {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= n_classes):
        bad = ids.min().item() if ids.min() < 0 else ids.max().item()
        raise ValueError(f"{name} holds class {bad}, out of range for {n_classes} classes (0..{n_classes - 1})")
    return ids


def log_probability_tensor(log_p, name, n_classes):
    """``log_p`` is a floating-point torch tensor of shape (C,), one finite log-probability per class (every p > 0)."""
    import torch

    if not isinstance(log_p, torch.Tensor) or not log_p.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch tensor of shape ({n_classes},), one log-probability "
                        f"per class; got {getattr(log_p, 'dtype', type(log_p).__name__)}")
    if tuple(log_p.shape) != (n_classes,):
        raise ValueError(f"{name} must have shape ({n_classes},), one log-probability per class; got {tuple(log_p.shape)}")
    if not torch.isfinite(log_p).all():
        raise ValueError(f"{name} must be finite: a class of probability 0 (log-probability -inf) is never drawn, and "
                         f"as a target its correction -{name} would be infinite; mix in a little of the uniform distribution")
    return log_p


# ----------------------------------------------------------------------------- text


def text(value, name, hint):
    """A non-empty string, stripped; else TypeError/ValueError naming ``name`` and saying what to write (``hint``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string: {hint}; got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty: {hint}")
    return value.strip()
