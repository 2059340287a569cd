"""The harness every checker shares: run the learner's function, turn what it returns into numbers, compare, and
print the verdict. It never raises: whatever the learner's code does or returns gets a message.

- ``_run(fn, *args)``: call ``fn`` on copies of the inputs; (float64 array, None) or (None, what went wrong);
- ``_numbers(value)`` / ``_number(answer)``: any value (tensors that require grad or live on a GPU, lists, strings,
  None, ...) as numbers, or a message that says what it is instead;
- ``_same`` and ``_close``: one tolerance policy (float32 answers are right too where noted);
- ``_verdict(ok, message)``: prints "Correct! ..." or "Not yet: ..." and returns ``ok``.
"""

import math

import numpy as np

NOT_DONE = "your function raised NotImplementedError: replace `raise NotImplementedError` with your code"


def _verdict(ok, message):
    print(("Correct! " if ok else "Not yet: ") + message)
    return ok


def _numbers(value):
    """Any value a learner's function returns, as (float64 array, None) or (None, what it is instead). Never raises.

    Tensors (also ones that require grad, or live on another device) and lists or tuples of them become arrays;
    strings, dicts, None and the like are named, not converted ("0" is not a number)."""
    if value is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(value, (str, bytes)):
        return None, f"your function returned the string {value!r}, not numbers"
    if isinstance(value, (dict, set)):
        return None, f"your function returned a {type(value).__name__}, not numbers (an array, a tensor or a number)"
    if hasattr(value, "detach"):  # a torch tensor: leave autograd and the GPU behind
        try:
            value = value.detach().cpu().numpy()
        except Exception as err:  # a meta tensor, a strange subclass...: say so
            hint = ": NumPy has no bfloat16, convert with .float() first" if "BFloat16" in str(err) else ""
            return None, f"your function returned a tensor whose values cannot be read ({type(err).__name__}: {err}){hint}"
    elif isinstance(value, (list, tuple)):
        parts = [_numbers(v) for v in value]
        if any(err for _, err in parts):
            return None, next(err for _, err in parts if err).replace("your function returned", "your function returned a list with")
        value = [v for v, _ in parts]
    try:
        return np.asarray(value, dtype=np.float64), None
    except Exception:  # ragged lists, objects, ...: say what it was
        return None, f"your function returned {type(value).__name__}, not an array of numbers"


def _is_integer(value):
    """Whether a learner's result is an integer number or array (the sign of `//` where a fraction is due)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and (getattr(dtype, "kind", None) in ("i", "u") or str(dtype).startswith(("torch.int", "torch.uint")))


def _run(fn, *args, as_array=True):
    """(result as a float array, None) or (None, what went wrong). ``as_array=False`` keeps the result as it is."""
    if fn is None:
        return None, "give the checker your function: passed = check_...(your_function)"
    if not callable(fn):
        return None, (f"expected a function, got {type(fn).__name__}: pass the function itself, without calling it "
                      "(check_x(my_function), not check_x(my_function(...)))")
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]  # an in-place answer must not corrupt ours
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, NOT_DONE
    except Exception as e:  # a checker reports the learner's error instead of crashing the notebook
        return None, f"your function raised {type(e).__name__}: {e}"
    if out is None:
        return None, "your function returned None: did you forget `return`?"
    if not as_array:
        return out, None
    return _numbers(out)


def _number(answer):
    """A learner's numeric answer as (float, None), or (None, what is wrong with it)."""
    if answer is None:
        return None, "replace None with your answer, a number"
    if isinstance(answer, bool) or isinstance(answer, (str, bytes)):
        return None, f"expected a number, got {type(answer).__name__} {answer!r}"
    value, err = _numbers(answer)
    if err or value.size != 1:
        return None, f"expected a number, got {type(answer).__name__}" + (f" of shape {value.shape}" if value is not None else "")
    return float(value.reshape(-1)[0]), None


def _same(a, b, rtol=1e-6, atol=1e-9):
    return a is not None and np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=rtol, atol=atol)


def _mismatch(out, want, what="row"):
    """Where the largest difference is, with both values, and a hint when it is only float32 rounding."""
    diff = np.abs(np.asarray(out, dtype=np.float64) - want)
    diff = np.where(np.isnan(diff), np.inf, diff)
    at = np.unravel_index(np.argmax(diff), diff.shape)
    if want.ndim > 1:
        row = at[:1]
        msg = (f"largest difference {diff[at]:.2g} in {what} {at[0]}: expected {np.round(want[row], 4).tolist()}, "
               f"got {np.round(np.asarray(out)[row], 4).tolist()}")
    else:
        msg = f"largest difference {diff[at]:.2g}: expected {np.round(want, 4).tolist()}, got {np.round(out, 4).tolist()}"
    if diff[at] < 1e-4 * max(1.0, float(np.abs(want[at]))):
        msg += " (very close: float32 rounding? compute in float64)"
    return msg


def _shape_msg(out, expected):
    if np.shape(out) != np.shape(expected):
        return f"expected an output of shape {np.shape(expected)}, got {np.shape(out)}"
    return None


def _broadcast_hint(err):
    """A learner's broadcasting error, with the fix it usually needs."""
    if "broadcast" in err or "must match the size" in err:
        return err + " (a reduced axis must be kept for broadcasting: keepdims=True in NumPy, keepdim=True in torch)"
    return err


def _close(got, want):
    """Equal up to float32 rounding: a float32 (torch or NumPy) answer is right too."""
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)


def _expected_got(what, want, got):
    """'for ... expected X, got Y', with the float32 hint of ``_mismatch`` when the two are very close."""
    msg = f"{what} expected {want:.4f}, got {got:.4f}"
    if abs(got - want) < 1e-4 * max(1.0, abs(want)):
        msg += " (very close: float32 rounding? compute in float64)"
    return msg
