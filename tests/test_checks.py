"""The exercise checkers: right answers pass, each usual mistake gets its own hint, nothing crashes."""

import math

import numpy as np
import pytest

from softmax_ce import checks
from softmax_ce import functional as npF


def naive_rows(x):
    return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)


def unfinished(*args):
    raise NotImplementedError


def broken(*args):
    return {}["oops"]


RIGHT = [
    (checks.check_softmax_rows, lambda x: npF.softmax(x, dim=-1)),
    (checks.check_temperature, lambda z, T: npF.softmax(z / T, dim=-1)),
    (checks.check_logits_from_probs, lambda p: np.log(p) + 7.0),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(-np.sum(y * np.log(p), axis=1))),
    (checks.check_cross_entropy_from_logits, lambda z, y: npF.logsumexp(z, dim=0) - z[y]),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction=r)),
    (checks.check_accuracy, lambda x, t: np.mean(x.argmax(axis=1) == t)),
    (checks.check_combine_means, lambda m, n: (m * n).sum() / n.sum()),
    (checks.check_bce_with_logits, lambda x, y: np.mean((1 - y) * x + np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))),
    (checks.check_sigmoid_logit, lambda z: z[:, 1] - z[:, 0]),
]

WRONG = [
    (checks.check_softmax_rows, lambda x: np.exp(x) / np.exp(x).sum(axis=0), "axis=0"),
    (checks.check_softmax_rows, naive_rows, "overflows"),
    (checks.check_softmax_rows, lambda x: np.exp(x) / np.exp(x).sum(), "rows should sum to 1"),
    (checks.check_softmax_rows, lambda x: npF.softmax(x[:1], dim=-1), "shape"),
    (checks.check_softmax_rows, lambda x: npF.softmax(2 * x, dim=-1), "values differ"),
    (checks.check_temperature, lambda z, T: npF.softmax(z * T, dim=-1), "z / T"),
    (checks.check_temperature, lambda z, T: npF.softmax(z, dim=-1), "expected"),
    (checks.check_logits_from_probs, lambda p: p, "probabilities themselves"),
    (checks.check_logits_from_probs, lambda p: np.log10(p), "not p"),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(np.sum(y * np.log(p), axis=1)), "sign"),
    (checks.check_cross_entropy_onehot, lambda y, p: -np.sum(y * np.log(p)), "summed over the batch"),
    (checks.check_cross_entropy_onehot, lambda y, p: np.mean(-np.sum(y * np.log10(p), axis=1)), "log10"),
    (checks.check_cross_entropy_onehot, lambda y, p: -np.sum(y * np.log(p), axis=1), "one number"),
    (checks.check_cross_entropy_from_logits, lambda z, y: -np.log(np.exp(z[y]) / np.exp(z).sum()), "overflows"),
    (checks.check_cross_entropy_from_logits, lambda z, y: z[y] - npF.logsumexp(z, dim=0), "sign"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="sum" if r == "mean" else r), "divide by the batch size"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="mean" if r == "sum" else r), "add the per-sample"),
    (checks.check_batch_cross_entropy, lambda x, t, r: npF.cross_entropy(x, t, reduction="mean"), "reduction='none'"),
    (checks.check_accuracy, lambda x, t: np.sum(x.argmax(axis=1) == t), "fraction"),
    (checks.check_accuracy, lambda x, t: np.mean(x.argmax(axis=0) == t), "raised ValueError"),
    (checks.check_combine_means, lambda m, n: m.mean(), "mean of the means"),
    (checks.check_bce_with_logits, lambda x, y: np.mean(-(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x))))), "±1000"),
    (checks.check_bce_with_logits, lambda x, y: npF.binary_cross_entropy(npF.sigmoid(x), y), "clamped"),
    (checks.check_sigmoid_logit, lambda z: z[:, 0] - z[:, 1], "sign"),
    (checks.check_sigmoid_logit, lambda z: z[:, 1], "does not equal"),
]


@pytest.mark.parametrize("checker, solution", RIGHT, ids=[c.__name__ for c, _ in RIGHT])
def test_right_answer_passes(checker, solution, capsys):
    assert checker(solution) is True
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("checker, solution, hint", WRONG, ids=[f"{c.__name__}-{h}" for c, _, h in WRONG])
def test_usual_mistake_gets_its_hint(checker, solution, hint, capsys):
    with np.errstate(all="ignore"):
        assert checker(solution) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet: ")
    assert hint in out, out


@pytest.mark.parametrize("checker", [c for c, _ in RIGHT], ids=[c.__name__ for c, _ in RIGHT])
@pytest.mark.parametrize("attempt, hint", [(unfinished, "NotImplementedError"), (broken, "raised KeyError"),
                                           (lambda *a: None, "returned None"), (lambda *a: "x", "not numbers"),
                                           (42, "expected a function")])
def test_unfinished_or_broken_attempts_never_crash(checker, attempt, hint, capsys):
    assert checker(attempt) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("answer, ok, hint", [
    (math.exp(-1), True, "Correct"), (0.3679, True, "Correct"), (0.1, False, "log10"),
    (1.5, False, "not a probability"), (0.5, False, "not 1.0"), ("e", False, "expected a number"), (None, False, "replace None"),
])
def test_check_true_class_probability(answer, ok, hint, capsys):
    assert checks.check_true_class_probability(answer) is ok
    assert hint in capsys.readouterr().out


RIGHT_CHOICE = {"spam or not spam": "BCEWithLogitsLoss", "which of 10 digits": "nn.CrossEntropyLoss",
                "which of 20 tags a photo has (any number of them)": "BCEWithLogitsLoss"}


@pytest.mark.parametrize("answers, ok, hint", [
    (RIGHT_CHOICE, True, "Correct"),
    ({**RIGHT_CHOICE, "spam or not spam": "BCELoss"}, False, "takes logits"),
    ({**RIGHT_CHOICE, "which of 20 tags a photo has (any number of them)": "CrossEntropyLoss"}, False, "how many labels"),
    ({"spam or not spam": "BCEWithLogitsLoss"}, False, "no answer for"),
    (["BCEWithLogitsLoss"], False, "expected a dict"),
])
def test_check_loss_choice(answers, ok, hint, capsys):
    assert set(checks.LOSS_TASKS) == set(RIGHT_CHOICE)
    assert checks.check_loss_choice(answers) is ok
    assert hint in capsys.readouterr().out
