"""Checkers of notebook 04 (binary_vs_multiclass): check_bce_with_logits, check_loss_choice, check_sigmoid_logit."""

import math

import numpy as np

from .. import functional as npF
from ._harness import _run, _same, _shape_msg, _verdict


def check_bce_with_logits(fn=None):
    """Exercise 04.1: ``fn(z, y)`` is the mean binary cross-entropy on logits, exact even for |z| = 1000."""
    z = np.array([0.5, -1.0, 3.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    with np.errstate(all="ignore"):
        out, err = _run(fn, z, y)
    if err:
        return _verdict(False, err)
    want = float(npF.binary_cross_entropy_with_logits(z, y))
    if out.shape != ():
        return _verdict(False, f"expected one number (the mean), got shape {out.shape}")
    if not np.isfinite(out):
        return _verdict(False, "the logits ±1000 give inf/nan: σ(1000) rounds to 1, and log(1 − σ) is log 0. Compute "
                               "log σ(z) without forming σ(z) first: −log σ(z) = softplus(−z), in the stable form of section 2")
    clamped = float(npF.binary_cross_entropy(npF.sigmoid(z), y))
    if math.isclose(float(out), clamped, rel_tol=1e-9):
        return _verdict(False, f"{float(out):.4f} is the clamped value of BCELoss(sigmoid(z)); the exact loss is {want:.4f}")
    per_sample = npF.binary_cross_entropy_with_logits(z, y, reduction="none")
    swapped = float(npF.binary_cross_entropy_with_logits(z, 1 - y))
    for value, hint in ((-want, "the sign is flipped: the loss is −[y log σ(z) + (1 − y) log(1 − σ(z))], which is >= 0"),
                        (float(per_sample.sum()), "that is the sum over the samples; return the mean"),
                        (swapped, "the two terms are swapped: for y = 1 the loss is −log σ(z), for y = 0 it is −log(1 − σ(z))"),
                        (float(np.mean(np.logaddexp(0, -y * z))),
                         "log(1 + e^(−y·z)) is the loss for labels ±1; these labels are 0 and 1 (map them: 2y − 1)")):
        if math.isclose(float(out), value, rel_tol=1e-6):
            return _verdict(False, hint)
    if float(out) < want - 1:
        return _verdict(False, f"{float(out):.4f} is too small: the confident mistake z = 1000, y = 0 alone costs exactly "
                               "1000 / 5 of the mean. Clipping probabilities (an eps) caps it: stay with logits")
    if not math.isclose(float(out), want, rel_tol=1e-6):
        return _verdict(False, f"expected {want:.4f}, got {float(out):.4f}")
    return _verdict(True, f"{want:.4f}, including the exact 1000.0 for the confident mistake z = 1000, y = 0.")


_LOSS_CHOICE = {
    "spam or not spam": "BCEWithLogitsLoss",
    "which of 10 digits": "CrossEntropyLoss",
    "which of 20 tags a photo has (any number of them)": "BCEWithLogitsLoss",
}


def check_loss_choice(answers=None):
    """Exercise 04.2: ``answers`` maps each task in ``LOSS_TASKS`` to the name of a torch.nn loss class."""
    if answers is None:
        return _verdict(False, "give the checker your dict: answers = {task: loss name, ...}, then check_loss_choice(answers)")
    if not isinstance(answers, dict):
        return _verdict(False, f"expected a dict from task to loss name, got {type(answers).__name__}")
    missing = [task for task in _LOSS_CHOICE if task not in answers]
    if missing:
        return _verdict(False, f"no answer for {missing[0]!r}")
    two_logits = False
    for task, want in _LOSS_CHOICE.items():
        answer = answers[task]
        if isinstance(answer, type) or hasattr(answer, "forward"):  # the class nn.X itself, or an instance nn.X()
            answer = answer.__name__ if isinstance(answer, type) else type(answer).__name__
        elif callable(answer):  # F.binary_cross_entropy_with_logits, F.cross_entropy...
            answer = getattr(answer, "__name__", str(answer))
        got = str(answer).strip().removesuffix("()").split(".")[-1]  # "torch.nn.X()", "nn.X" or "X"
        got = _SPELLINGS.get(got.lower().replace("_", "").removesuffix("loss"), got)  # "bcewithlogits", F's names
        if task == "spam or not spam" and got == "CrossEntropyLoss":
            two_logits = True  # also right: two logits + CrossEntropyLoss = one logit + BCEWithLogitsLoss (section 3)
            continue
        if got == "BCELoss":
            return _verdict(False, f"{task!r}: BCELoss needs probabilities from a sigmoid layer, and forming them loses "
                                   "the confident mistakes (section 2); pick the loss that takes logits")
        if got == "NLLLoss" and (want == "CrossEntropyLoss" or task == "spam or not spam"):  # one class per example
            return _verdict(False, f"{task!r}: NLLLoss takes log-probabilities: after a LogSoftmax layer it is exactly "
                                   "CrossEntropyLoss, but this model returns logits; pick the loss that takes logits")
        if got == "NLLLoss":
            return _verdict(False, f"{task!r}: NLLLoss takes log-probabilities of exactly one class per example; think "
                                   "about how many labels one example can have, and pick the loss that takes logits")
        if got != want:
            return _verdict(False, f"{task!r}: {got} is not the usual choice; think about how many labels one example can have")
    note = " (CrossEntropyLoss on two logits works for spam too; one logit + BCEWithLogitsLoss is the usual choice.)" if two_logits else ""
    return _verdict(True, "one label of two: BCEWithLogitsLoss; one of many: CrossEntropyLoss; several at once: BCEWithLogitsLoss per label." + note)


LOSS_TASKS = tuple(_LOSS_CHOICE)
# Other spellings of the same losses (any case, with or without "Loss", and torch.nn.functional's names)
_SPELLINGS = {"bcewithlogits": "BCEWithLogitsLoss", "binarycrossentropywithlogits": "BCEWithLogitsLoss",
              "crossentropy": "CrossEntropyLoss", "bce": "BCELoss", "binarycrossentropy": "BCELoss", "nll": "NLLLoss",
              "mse": "MSELoss"}


def check_sigmoid_logit(fn=None):
    """Exercise 04.3: ``fn(z)`` maps two-class logits (N, 2) to one logit s (N,) with σ(s) = softmax(z)[:, 1]."""
    z = np.array([[2.0, 1.0], [0.5, 2.0], [-3.0, 4.0]])
    out, err = _run(fn, z)
    if err:
        return _verdict(False, err)
    want = z[:, 1] - z[:, 0]
    if msg := _shape_msg(out, want):
        return _verdict(False, msg)
    if _same(out, -want):
        return _verdict(False, "the sign is flipped: σ(z1 − z0) is the probability of class 1")
    if _same(out, npF.softmax(z, dim=1)[:, 1]):
        return _verdict(False, "that is the probability of class 1; the exercise asks for a logit s whose σ(s) is that probability")
    if not _same(npF.sigmoid(out), npF.softmax(z, dim=1)[:, 1]):
        return _verdict(False, "σ(your logit) does not equal the softmax probability of class 1")
    return _verdict(True, "s = z1 − z0: a two-class softmax is a sigmoid of the logit difference.")
