"""The explorers (softmax_ce.explorers): their numbers are torch's, they follow their controls, they refuse bad input
out loud, they leave no figure open, and every notebook that shows one has a static fallback right after it."""

import html
import json
import pathlib

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from softmax_ce import explorers

ROOT = pathlib.Path(__file__).resolve().parents[2]
PNG = b"\x89PNG"
DRAWS = {"temperature_explorer": "draw_temperature", "loss_gradient_explorer": "draw_loss_gradient",
         "label_smoothing_explorer": "draw_label_smoothing"}


@pytest.fixture(autouse=True)
def no_figure_left_open():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "an explorer or drawing function left a pyplot figure open"


def shown_png(explorer):
    image = explorer.children[2]
    return bytes(image.value) if image.layout.display != "none" else None


# ----------------------------------------------------------------------------- temperature


def torch_softmax(z, T):
    return torch.softmax(torch.tensor(z, dtype=torch.float64) / T, dim=0).numpy()


def test_temperature_explorer_shows_torch_softmax_and_follows_its_slider():
    ex = explorers.temperature_explorer(logits=(2.0, 1.0, 0.1), T=1.0)
    assert set(ex.controls) == {"logits", "T"} and ex.message == ""
    np.testing.assert_allclose(ex.shown["probabilities"], torch_softmax([2.0, 1.0, 0.1], 1.0), rtol=1e-12)
    first = shown_png(ex)
    assert first.startswith(PNG)

    ex.controls["T"].value = 3.0
    assert ex.shown["T"] == 3.0
    np.testing.assert_allclose(ex.shown["probabilities"], torch_softmax([2.0, 1.0, 0.1], 3.0), rtol=1e-12)
    assert shown_png(ex) != first, "the figure did not change with the temperature"
    expected = " ".join(f"{v:.4f}" for v in torch_softmax([2.0, 1.0, 0.1], 3.0))
    assert f"softmax(z / T) = [{expected}]" in ex.children[1].value and "(T = 3.00)" in ex.children[1].value


def test_temperature_explorer_reads_typed_logits():
    ex = explorers.temperature_explorer()
    ex.controls["logits"].value = "1, 2  3,4"  # commas and/or spaces
    np.testing.assert_array_equal(ex.shown["logits"], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(ex.shown["probabilities"], torch_softmax([1.0, 2.0, 3.0, 4.0], 1.0), rtol=1e-12)


@pytest.mark.parametrize("text, words", [("1, two, 3", "'two' is not a number"), ("", "between 2 and 12 logits"),
                                         ("5", "between 2 and 12 logits"), ("1, nan", "finite"), ("1, inf", "finite"),
                                         ("1, 2e7", "beyond ±1e6")])
def test_unreadable_logits_give_a_message_and_no_numbers(text, words):
    ex = explorers.temperature_explorer()
    ex.controls["logits"].value = text
    assert ex.shown is None and words in ex.message
    assert words in html.unescape(ex.children[1].value) and shown_png(ex) is None  # said in the widget; no stale figure
    ex.controls["logits"].value = "0, 0"  # and it recovers
    assert ex.message == "" and shown_png(ex).startswith(PNG)
    np.testing.assert_allclose(ex.shown["probabilities"], [0.5, 0.5])


@pytest.mark.parametrize("T", [0.0, -1.0, float("nan"), float("inf")])
def test_a_temperature_that_is_not_positive_is_refused(T):
    with pytest.raises(ValueError, match="temperature T"):
        explorers.temperature_explorer(T=T)
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="temperature T"):
            explorers.draw_temperature(ax, [2.0, 1.0, 0.1], T)
    finally:
        plt.close(fig)


def test_many_classes_get_short_tick_labels():
    fig, ax = plt.subplots()
    try:
        explorers.draw_temperature(ax, list(range(12)), 1.0)
        assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["0\n0", "1\n1"] and ax.get_xlabel() == "class / logit z"
    finally:
        plt.close(fig)


def test_bad_initial_logits_are_refused():
    with pytest.raises(ValueError, match="between 2 and 12"):
        explorers.temperature_explorer(logits=(1.0,))
    with pytest.raises(ValueError, match="'x' is not a number"):
        explorers.parse_logits("1, x")


def test_draw_temperature_draws_one_bar_per_class_and_returns_the_probabilities():
    fig, ax = plt.subplots()
    try:
        p = explorers.draw_temperature(ax, [2.0, 1.0, 0.1], 0.5)
        assert len(ax.patches) == 3 and [b.get_height() for b in ax.patches] == pytest.approx(list(p))
        np.testing.assert_allclose(p, torch_softmax([2.0, 1.0, 0.1], 0.5), rtol=1e-12)
        labels = [f"{v:.3f}" for v in torch_softmax([2.0, 1.0, 0.1], 0.5)]
        assert [t.get_text() for t in ax.texts] == [*labels, " 1/3"]  # a label on each bar, and the uniform line's
        assert [t.get_text() for t in ax.get_xticklabels()] == ["class 0\nz = 2", "class 1\nz = 1", "class 2\nz = 0.1"]
        assert "T = 0.5" in ax.get_title()
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- loss and gradient


def autograd_losses(x, n_classes=3):
    """The three losses and d loss / d x by torch autograd, for true-class logit x and label 1."""
    xt = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    logits = torch.cat([xt.reshape(1), torch.zeros(n_classes - 1, dtype=torch.float64)]).reshape(1, -1)
    one = torch.tensor(1.0, dtype=torch.float64)
    losses = {
        "cross-entropy (softmax)": F.cross_entropy(logits, torch.tensor([0])),
        "BCE with logits": F.binary_cross_entropy_with_logits(xt, one),
        "MSE on sigmoid": F.mse_loss(torch.sigmoid(xt), one),
    }
    return {name: (loss.item(), torch.autograd.grad(loss, xt)[0].item()) for name, loss in losses.items()}


@pytest.mark.parametrize("x", [-30.0, -6.0, -1.5, 0.0, 2.0, 9.5])
@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_losses_and_gradients_equal_torch_autograd(x, n_classes):
    ours, theirs = explorers.losses_and_gradients(x, n_classes), autograd_losses(x, n_classes)
    assert list(ours) == list(explorers.LOSSES)
    for name in explorers.LOSSES:
        assert ours[name] == pytest.approx(theirs[name], rel=1e-9, abs=1e-300), name


def test_losses_and_gradients_of_an_array_keep_its_shape():
    xs = np.linspace(-8, 8, 12).reshape(3, 4)
    values = explorers.losses_and_gradients(xs)
    for name, (loss, grad) in values.items():
        assert loss.shape == grad.shape == (3, 4)
        assert loss[1, 2] == pytest.approx(explorers.losses_and_gradients(xs[1, 2])[name][0])


def test_mse_on_sigmoid_gradient_vanishes_when_confidently_wrong_but_cross_entropys_does_not():
    at = explorers.losses_and_gradients(-8.0)
    assert abs(at["MSE on sigmoid"][1]) < 1e-3
    assert at["cross-entropy (softmax)"][1] < -0.99 and at["BCE with logits"][1] < -0.99


def test_loss_gradient_explorer_follows_its_slider():
    ex = explorers.loss_gradient_explorer(z=-6.0)
    assert ex.shown["z"] == -6.0
    first = shown_png(ex)
    ex.controls["z"].value = 1.5
    assert ex.shown["z"] == 1.5 and shown_png(ex) != first
    for name, values in autograd_losses(1.5).items():
        assert ex.shown[name] == pytest.approx(values, rel=1e-9)
    loss, grad = ex.shown["MSE on sigmoid"]
    assert f"{loss:.4f}" in ex.children[1].value and f"{grad:.2e}" in ex.children[1].value


def test_loss_gradient_refuses_bad_input():
    with pytest.raises(ValueError, match="finite"):
        explorers.losses_and_gradients(float("nan"))
    with pytest.raises(ValueError, match="n_classes"):
        explorers.losses_and_gradients(0.0, n_classes=1)
    with pytest.raises(ValueError, match="the logit z"):
        explorers.loss_gradient_explorer(z=float("inf"))


def test_draw_loss_gradient_marks_every_x_and_returns_their_values():
    fig, axes = plt.subplots(1, 2)
    try:
        marks = [-6.0, 0.0, 3.0]
        values = explorers.draw_loss_gradient(axes, marks)
        for name, (loss, grad) in values.items():
            assert loss.shape == grad.shape == (3,)
            assert grad[0] == pytest.approx(autograd_losses(-6.0)[name][1], rel=1e-9)
        assert len(axes[0].get_legend().get_texts()) == 3
        # what is drawn: each curve, and the dots at the marks, are torch's loss (left) and gradient (right)
        for ax, k in ((axes[0], 0), (axes[1], 1)):
            curves = {line.get_label(): line for line in ax.get_lines() if line.get_label() in explorers.LOSSES}
            dots = [line for line in ax.get_lines() if line.get_linestyle() == "None"]  # the marks: markers, no line
            assert list(curves) == list(explorers.LOSSES) and len(dots) == 3
            for (name, curve), dot in zip(curves.items(), dots):
                xs, ys = curve.get_xdata(), curve.get_ydata()
                for j in (0, 57, 200, 333, 400):
                    assert ys[j] == pytest.approx(autograd_losses(xs[j])[name][k], rel=1e-9, abs=1e-12), (name, xs[j])
                np.testing.assert_array_equal(dot.get_xdata(), marks)
                assert list(dot.get_ydata()) == pytest.approx([autograd_losses(m)[name][k] for m in marks], rel=1e-9)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- label smoothing


def torch_smoothed_loss(z, target, eps):
    return F.cross_entropy(torch.tensor(z, dtype=torch.float64), torch.tensor(target), label_smoothing=eps).item()


def test_label_smoothing_explorer_shows_torch_loss_and_follows_its_slider():
    z = (2.5, 1.0, 0.0, -1.0)
    ex = explorers.label_smoothing_explorer(logits=z, target=0, eps=0.1)
    assert ex.shown["loss"] == pytest.approx(torch_smoothed_loss(z, 0, 0.1), rel=1e-12)
    np.testing.assert_allclose(ex.shown["target"], [0.925, 0.025, 0.025, 0.025])
    first = shown_png(ex)

    ex.controls["eps"].value = 0.4
    assert ex.shown["eps"] == 0.4 and shown_png(ex) != first
    np.testing.assert_allclose(ex.shown["target"], [0.7, 0.1, 0.1, 0.1])
    assert ex.shown["loss"] == pytest.approx(torch_smoothed_loss(z, 0, 0.4), rel=1e-12)
    assert f"= {ex.shown['loss']:.4f}" in ex.children[1].value
    # the readout's decomposition: (1 − ε) × the unsmoothed loss + ε × the loss against a uniform target
    t = (torch.tensor(z, dtype=torch.float64), torch.tensor(0))
    assert ex.shown["nll_true"] == pytest.approx(F.cross_entropy(*t).item(), rel=1e-12)
    assert ex.shown["mean_nll"] == pytest.approx(F.cross_entropy(*t, label_smoothing=1.0).item(), rel=1e-12)
    assert 0.6 * ex.shown["nll_true"] + 0.4 * ex.shown["mean_nll"] == pytest.approx(ex.shown["loss"], rel=1e-12)
    assert f"(1 − ε) · {ex.shown['nll_true']:.4f} + ε · {ex.shown['mean_nll']:.4f}" in ex.children[1].value


@pytest.mark.parametrize("eps", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("target", [0, 2])
def test_draw_label_smoothing_matches_torch(eps, target):
    z = [0.3, -1.2, 2.0, 0.5, 0.0]
    fig, ax = plt.subplots()
    try:
        q, loss = explorers.draw_label_smoothing(ax, z, target, eps)
        p = torch.softmax(torch.tensor(z, dtype=torch.float64), dim=0).numpy()
        assert [b.get_height() for b in ax.patches] == pytest.approx([*q, *p], rel=1e-12)  # q bars, then p bars
        assert [b.get_x() + b.get_width() / 2 for b in ax.patches[:len(z)]] == pytest.approx(np.arange(len(z)) - 0.2)
        assert [t.get_text() for t in ax.texts] == [f"{v:.3f}" for v in q]
    finally:
        plt.close(fig)
    assert loss == pytest.approx(torch_smoothed_loss(z, target, eps), rel=1e-12)
    assert q.sum() == pytest.approx(1.0) and q[target] == pytest.approx(1 - eps + eps / len(z))
    # q is the target torch smooths towards: cross-entropy against q as probabilities gives the same loss
    assert F.cross_entropy(torch.tensor(z, dtype=torch.float64), torch.tensor(q)).item() == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan")])
def test_label_smoothing_out_of_range_is_refused(eps):
    with pytest.raises(ValueError, match=r"label_smoothing ε must be (a finite number )?in \[0, 1\]"):
        explorers.label_smoothing_explorer(eps=eps)
    with pytest.raises(ValueError, match="label_smoothing"):
        explorers.smoothed_target(0, 4, eps)


def test_a_target_outside_the_classes_is_refused():
    with pytest.raises(ValueError, match="class index in 0..3"):
        explorers.label_smoothing_explorer(target=4)


# ----------------------------------------------------------------------------- in the notebooks


def explorer_cells():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "code" and "_explorer(" in "".join(cell["source"]):
                yield path.stem, cells[i - 1], cell, cells[i + 1]


def test_the_explorers_are_in_their_notebooks():
    found = {stem for stem, *_ in explorer_cells()}
    assert found >= {"01_softmax", "04_binary_vs_multiclass", "07_loss_options"}, f"the scan finds explorers only in {found}"


@pytest.mark.parametrize("stem, intro, cell, fallback", list(explorer_cells()), ids=[s for s, *_ in explorer_cells()])
def test_each_explorer_is_introduced_checked_and_followed_by_a_static_fallback(stem, intro, cell, fallback):
    source = "".join(cell["source"])
    assert intro["cell_type"] == "markdown" and "live kernel" in "".join(intro["source"]), (
        f"{stem}: the markdown cell before an explorer says it needs a live kernel (and that the figure below is its "
        "static version)")
    assert "nbval-ignore-output" in cell["metadata"].get("tags", []), (
        f"{stem}: an explorer's cell is tagged nbval-ignore-output (its widget output is not stored)")
    assert "assert " in source, f"{stem}: an explorer's cell asserts the numbers the explorer shows"
    assert cell["outputs"] == [], "a stored widget output: store outputs with tools/outputs.py"
    fallback_source = "".join(fallback["source"])
    assert fallback["cell_type"] == "code" and "nbval-ignore-output" not in fallback["metadata"].get("tags", []), (
        f"{stem}: the cell after an explorer is its static fallback, a code cell nbval checks (not tagged nbval-ignore-output)")
    name = next(n for n in DRAWS if f"{n}(" in source)
    assert f"{DRAWS[name]}(" in fallback_source, f"the fallback should draw with {DRAWS[name]}, as {name} does"
    kinds = [o["output_type"] for o in fallback["outputs"]]
    assert "stream" in kinds and any("image/png" in o.get("data", {}) for o in fallback["outputs"]), \
        "the fallback prints its numbers and shows its figure"
