"""Explorers: sliders over the course's formulas, for a learner with a live kernel (JupyterLab, ipywidgets).

Each explorer has two halves:
- ``draw_*(ax, ...)``: a pure drawing function. The widget calls it on every change, and the notebook's static
  fallback calls it at a few fixed values (for nbval, the HTML handout, and readers without a kernel).
- ``*_explorer(...)``: the widget. It returns an ``ipywidgets.VBox`` (controls, a line of numbers, the figure as a
  PNG) with three attributes for tests and notebooks: ``controls`` (name -> control widget), ``shown`` (the numbers
  it displays now; None while the input is invalid) and ``message`` (the error shown for invalid input, else "").

The math comes from ``functional`` and ``gradients``; figures are drawn on a ``matplotlib.figure.Figure`` that
pyplot never sees, so the widget leaves no open figure behind. Not imported by ``softmax_ce/__init__.py``:
``from softmax_ce.explorers import temperature_explorer``.
"""

import html
import re

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import fmt
from . import functional as F
from . import gradients as G
from . import validation as check
from .plotting import MARKERS, png_bytes

# ----------------------------------------------------------------------------- input checks


def parse_logits(text):
    """'2.0, 1.0, 0.1' -> array([2.0, 1.0, 0.1]); a ValueError that names the part that is not a number."""
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a number: type logits separated by commas, e.g. 2.0, 1.0, 0.1") from None
    return _logits_array(values)


def _logits_array(logits):
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1 or not 2 <= len(z) <= 12:
        raise ValueError(f"give between 2 and 12 logits, one per class, e.g. 2.0, 1.0, 0.1 (got {z.size})")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"logits must be finite numbers, got {fmt(z, 2)}")
    if np.abs(z).max() > 1e6:
        raise ValueError(f"logits beyond ±1e6 are not what a model produces, got {np.abs(z).max():g}")
    return z



# ----------------------------------------------------------------------------- the widget around a drawing


def _render(draw, ncols, figsize):
    """Call ``draw(axes)`` on a fresh Figure (outside pyplot: nothing to close) and return (PNG bytes, its result)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(1, ncols)
    result = draw(axes)
    return png_bytes(fig), result


def _explorer(controls, compute):
    """A VBox: the controls, a line of numbers, the figure. ``compute()`` returns (png, readout html, shown numbers).

    Bad initial arguments raise ValueError; bad input typed later shows the message in red and hides the figure.
    """
    readout, image = widgets.HTML(), widgets.Image(format="png")
    readout.add_class("softmax-ce-readout")
    box = widgets.VBox([widgets.HBox(list(controls.values())), readout, image], layout=widgets.Layout(align_items="flex-start"))
    box.add_class("softmax-ce-explorer")
    box.controls = controls

    # The readout changes last: each widget's change reaches the browser as a message of its own, so the figure is
    # normally shown or hidden before the numbers that describe it (tests/e2e/test_browser_lab.py still waits for both).
    def display_result(result):
        image.value, shown_html, box.shown = result
        box.message = ""
        image.layout.display = None
        readout.value = shown_html

    def update(change=None):
        try:
            result = compute()
        except Exception as err:  # whatever went wrong, say it in the widget rather than keep stale numbers
            text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            box.shown, box.message = None, text
            image.layout.display = "none"  # no figure rather than a stale one
            readout.value = f'<span style="color: #b00020">⚠ {html.escape(text, quote=False)}</span>'
            return
        display_result(result)

    display_result(compute())  # raises for bad arguments
    for control in controls.values():
        control.observe(update, names="value")
    return box


CODE = '<code style="white-space: pre">'  # keeps the spaces between the numbers


def _slider(value, low, high, step, description, css_class):
    slider = widgets.FloatSlider(value=value, min=min(low, value), max=max(high, value), step=step, description=description,
                                 continuous_update=False, readout_format=".2f", style={"description_width": "initial"},
                                 layout=widgets.Layout(width="420px"))
    slider.add_class(css_class)
    return slider


# ----------------------------------------------------------------------------- 01: temperature


def draw_temperature(ax, logits, T):
    """Bars of softmax(z / T)_i = exp(z_i / T) / Σ_j exp(z_j / T); returns those probabilities."""
    z = _logits_array(logits)
    T = check.finite_number(T, "the temperature T", low=0.0, low_open=True)
    p = F.softmax(z / T, dim=0)
    classes = np.arange(len(z))
    bars = ax.bar(classes, p, color=[f"C{i % 10}" for i in classes])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in p], padding=2, fontsize=8)
    ax.axhline(1 / len(z), color="gray", ls=":", lw=1)
    ax.text(1.0, 1 / len(z), f" 1/{len(z)}", transform=ax.get_yaxis_transform(), color="gray", fontsize=8, va="center")
    if len(z) <= 6:
        ax.set_xticks(classes, [f"class {i}\nz = {v:g}" for i, v in enumerate(z)])
    else:
        ax.set_xticks(classes, [f"{i}\n{v:g}" for i, v in enumerate(z)])
        ax.set_xlabel("class / logit z")
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("probability")
    ax.set_title(f"softmax(z / T), T = {T:g}")
    return p


def temperature_explorer(logits=(2.0, 1.0, 0.1), T=1.0):
    """Edit the logits z and slide the temperature T: the bars show softmax(z / T)."""
    text = widgets.Text(value=", ".join(f"{v:g}" for v in _logits_array(logits)), description="logits z",
                        continuous_update=False, layout=widgets.Layout(width="300px"))
    text.add_class("softmax-ce-logits")
    slider = _slider(check.finite_number(T, "the temperature T", low=0.0, low_open=True), 0.1, 5.0, 0.1, "temperature T",
                     "softmax-ce-temperature")

    def compute():
        z, temperature = parse_logits(text.value), slider.value
        png, p = _render(lambda ax: draw_temperature(ax, z, temperature), 1, (6.4, 3.4))
        readout = f"{CODE}softmax(z / T) = {fmt(p)}   max = {p.max():.4f}   (T = {temperature:.2f})</code>"
        return png, readout, {"logits": z, "T": temperature, "probabilities": p}

    return _explorer({"logits": text, "T": slider}, compute)


# ----------------------------------------------------------------------------- 04: loss and gradient of three losses

LOSSES = ("cross-entropy (softmax)", "BCE with logits", "MSE on sigmoid")


def losses_and_gradients(z, n_classes=3):
    """Loss and d loss / d z for a true-class logit z, true label 1, as {name: (loss, gradient)}.

    cross-entropy on logits (z, 0, ..., 0), true class 0: log(e^z + C − 1) − z, gradient softmax(z, 0, ..., 0)_0 − 1;
    BCE with logits: softplus(−z), gradient σ(z) − 1; MSE on sigmoid: (σ(z) − 1)², gradient 2 (σ(z) − 1) σ(z) (1 − σ(z)).
    ``z`` may be a number (gives floats) or an array (gives arrays of its shape).
    """
    z = np.asarray(z, dtype=float)
    if not np.all(np.isfinite(z)):
        raise ValueError("the logit z must be finite")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    flat = z.reshape(-1)
    logits = np.zeros((flat.size, n_classes))
    logits[:, 0] = flat
    true_class = np.zeros(flat.size, dtype=np.int64)
    ones = np.ones_like(flat)
    s = F.sigmoid(flat)
    pairs = {
        LOSSES[0]: (F.cross_entropy(logits, true_class, reduction="none"),
                    G.cross_entropy_grad(logits, true_class, reduction="none")[:, 0]),
        LOSSES[1]: (F.binary_cross_entropy_with_logits(flat, ones, reduction="none"),
                    G.binary_cross_entropy_with_logits_grad(flat, ones, reduction="none")),
        LOSSES[2]: ((s - 1) ** 2, 2 * (s - 1) * s * (1 - s)),
    }
    if z.ndim == 0:
        return {name: (float(loss[0]), float(grad[0])) for name, (loss, grad) in pairs.items()}
    return {name: (loss.reshape(z.shape), grad.reshape(z.shape)) for name, (loss, grad) in pairs.items()}


def draw_loss_gradient(axes, z, n_classes=3, xlim=(-10.0, 10.0)):
    """Curves of the three losses (left axes) and their gradients d loss / d z (right), dots at z (a number or a list).

    Returns ``losses_and_gradients(z)``: the values at the dots.
    """
    ax_loss, ax_grad = axes
    marks = np.atleast_1d(np.asarray(z, dtype=float))
    at_x = losses_and_gradients(z, n_classes)
    xs = np.linspace(*xlim, 401)
    curves = losses_and_gradients(xs, n_classes)
    for i, (name, (loss, grad)) in enumerate(curves.items()):
        at_loss, at_grad = (np.atleast_1d(v) for v in at_x[name])
        style = dict(color=f"C{i}", lw=2, ls=("-", "--", "-.")[i])
        ax_loss.plot(xs, loss, label=name, **style)
        ax_grad.plot(xs, grad, label=name, **style)
        dots = dict(ls="none", marker=MARKERS[i], color=f"C{i}", ms=6, mec="black", mew=0.6)
        ax_loss.plot(marks, at_loss, **dots)
        ax_grad.plot(marks, at_grad, **dots)
    for ax in axes:
        ax.axvspan(xlim[0], -4, color="C3", alpha=0.07, lw=0)
        for m in marks:
            ax.axvline(m, color="gray", ls=":", lw=1)
        ax.set_xlim(*xlim)
        ax.set_xlabel("logit z of the true class (label 1)")
    for ax, height in ((ax_loss, 0.35), (ax_grad, 0.5)):
        ax.text(xlim[0] + 0.3, height, "confidently\nwrong", transform=ax.get_xaxis_transform(), va="center", fontsize=8, color="C3")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss (true label 1)")
    ax_loss.legend(fontsize=8, loc="upper right")
    ax_grad.set_ylim(-1.08, 0.08)
    ax_grad.set_ylabel("d loss / d z")
    ax_grad.set_title("gradient: MSE on sigmoid's vanishes when confidently wrong")
    ax_grad.legend(fontsize=8, loc="lower right")
    return at_x


def loss_gradient_explorer(z=-6.0, n_classes=3):
    """Slide the true-class logit z: loss and gradient of softmax cross-entropy, BCE with logits and MSE on sigmoid."""
    slider = _slider(check.finite_number(z, "the logit z", low=-50.0, high=50.0), -10.0, 10.0, 0.5, "true-class logit z",
                     "softmax-ce-logit")

    def compute():
        value = slider.value
        xlim = (slider.min, slider.max)  # -10..10, or wider to include an initial z outside it
        png, at_x = _render(lambda axes: draw_loss_gradient(axes, value, n_classes, xlim), 2, (10, 3.6))
        rows = "".join(f"<tr><td>{name}</td><td>{loss + 0.0:.4f}</td><td>{grad:.2e}</td></tr>" for name, (loss, grad) in at_x.items())
        readout = (f"<table><tr><th>z = {value:.2f}</th><th>loss</th><th>d loss / d z</th></tr>{rows}</table>")
        return png, readout, {"z": value, **at_x}

    return _explorer({"z": slider}, compute)


# ----------------------------------------------------------------------------- 07: label smoothing


def smoothed_target(target, n_classes, eps):
    """q_c = (1 − ε) 1[c = target] + ε / C: the distribution ``label_smoothing=eps`` trains towards."""
    eps = check.finite_number(eps, "label_smoothing ε", low=0.0, high=1.0)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < n_classes:
        raise ValueError(f"target must be a class index in 0..{n_classes - 1}, got {target!r}")
    return F.smoothed_targets(np.eye(n_classes)[target], eps)


def draw_label_smoothing(ax, logits, target, eps):
    """Bars of the smoothed target q beside the prediction p = softmax(z); returns (q, loss), loss = −Σ_c q_c log p_c."""
    z = _logits_array(logits)
    q = smoothed_target(target, len(z), eps)
    p = F.softmax(z, dim=0)
    loss = float(F.cross_entropy(z, np.int64(target), label_smoothing=float(eps)))
    classes = np.arange(len(z))
    bars = ax.bar(classes - 0.2, q, 0.4, color="C0", label="target q")
    # the prediction hatched: told apart from the target without colour
    ax.bar(classes + 0.2, p, 0.4, color="C1", alpha=0.6, hatch="///", edgecolor="black", linewidth=0, label="prediction p")
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in q], padding=2, fontsize=8)
    ax.set_xticks(classes, [f"{i}{' (true)' if i == target else ''}\nz = {v:g}" for i, v in enumerate(z)])
    ax.set_xlabel("class")
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("probability")
    ax.set_title(f"ε = {float(eps):.2f}: loss = {loss:.4f}")
    ax.legend(fontsize=8, loc="upper right")
    return q, loss


def label_smoothing_explorer(logits=(2.5, 1.0, 0.0, -1.0), target=0, eps=0.1):
    """Slide label_smoothing ε: the smoothed target q = (1 − ε) onehot + ε / C and the loss −Σ_c q_c log p_c."""
    z = _logits_array(logits)
    slider = _slider(check.finite_number(eps, "label_smoothing ε", low=0.0, high=1.0), 0.0, 1.0, 0.05, "label_smoothing ε",
                     "softmax-ce-smoothing")

    def compute():
        value = slider.value
        png, (q, loss) = _render(lambda ax: draw_label_smoothing(ax, z, target, value), 1, (6.4, 3.4))
        logp = F.log_softmax(z, dim=0)
        nll, mean_nll = -logp[target] + 0.0, -logp.mean()  # + 0.0: no "-0.0000" for a confident prediction
        readout = (f"{CODE}q = {fmt(q)}   loss = (1 − ε) · {nll:.4f} + ε · {mean_nll:.4f} = {loss:.4f}"
                   f"   (ε = {value:.2f})</code>")
        return png, readout, {"eps": value, "target": q, "loss": loss, "nll_true": nll, "mean_nll": mean_nll}

    return _explorer({"eps": slider}, compute)
