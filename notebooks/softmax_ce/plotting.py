"""One plot style for the course (``use_course_style``), and ``show``: display a figure as a PNG with its description.

Importing this module changes nothing: a notebook asks for the style by calling ``use_course_style()``.

``plt.show()`` in Jupyter stores a ``<Figure size 640x480 with 1 Axes>`` text next to the picture, and
nbval would compare that text. ``show(fig, alt)`` publishes the PNG with the description ``alt`` written where the
figure is made: as the image's alt text (the output's metadata, used by the handout's pages and PDF) and as its text
twin ("Figure: ..."), which nbval compares and text-only readers see. The PNG itself is compared as a picture.

The style cycles line styles with colours, so lines stay apart in greyscale print and for readers who do not tell
the colours apart; ``decision_regions`` gives each class its own marker shape.

Figures are stored at 100 dpi (small notebooks); the handout's build sets SOFTMAX_CE_FIGURE_DPI (200) to print sharp
figures at the same size on the page.
"""

import base64
import io
import os

import matplotlib
import numpy as np
from cycler import cycler

from . import validation

COURSE_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "svg.hashsalt": "softmax-ce",
    # matplotlib's ten colours (tab10), each with its own line style
    "axes.prop_cycle": cycler(color=["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                     "#7f7f7f", "#bcbd22", "#17becf"])
    + cycler(linestyle=["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 3)), (0, (8, 2, 2, 2)),
                        (0, (4, 2, 1, 2, 1, 2)), (0, (2, 2))]),
}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]  # one per class, in the order of the colours
STORED_DPI = 100  # COURSE_STYLE's figure.dpi: a figure's size on the page in pixels at this resolution
DPI_VARIABLE = "SOFTMAX_CE_FIGURE_DPI"


def use_course_style():
    """Set matplotlib's rcParams to ``COURSE_STYLE`` for the figures drawn after this call."""
    matplotlib.rcParams.update(COURSE_STYLE)


def png_bytes(fig, dpi=None):
    """The figure as PNG bytes, without the matplotlib version stamp (same bytes on every run)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None}, dpi=dpi)
    return buf.getvalue()


def print_scale():
    """How many times sharper than stored ``show`` draws: SOFTMAX_CE_FIGURE_DPI / 100 when set (the handout: 2),
    else 1 (the figure's own resolution, 100 dpi in the course style)."""
    text = os.environ.get(DPI_VARIABLE, "").strip()
    if not text:
        return 1.0
    if not text.isdigit() or not 50 <= int(text) <= 600:
        raise ValueError(f"{DPI_VARIABLE} must be a whole number of dots per inch from 50 to 600, got {text!r}")
    return int(text) / STORED_DPI


# A stored figure and a redrawn one may differ by rendering noise: antialiasing that moves some pixels a little. A
# changed plot differs by more: many pixels a little (the RMS), or a few pixels a lot (a recoloured marker, one new
# digit in a label). Used by the tests' figure comparison and by `make_images.py --check`.
FIGURE_RMS_TOLERANCE = 2.0  # root-mean-square difference of all pixels, 0-255 scale (as matplotlib.testing.compare)
FIGURE_PIXEL_JUMP = 96  # a pixel changed clearly when one of its channels moves by more than this
FIGURE_CLEAR_PIXELS = 4  # more clearly changed pixels than this: the figure changed


def _pixels(png):
    from PIL import Image

    data = base64.b64decode(png) if isinstance(png, str) else png
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def figure_change(png_a, png_b):
    """None when two PNGs (bytes or base64 text) show the same figure up to rendering noise; else how they differ."""
    a, b = _pixels(png_a), _pixels(png_b)
    if a.shape != b.shape:
        return f"has another size ({a.shape[1]} x {a.shape[0]} pixels against {b.shape[1]} x {b.shape[0]})"
    rms = float(np.sqrt(np.mean((a - b) ** 2)))
    clear = int((np.abs(a - b).max(axis=-1) > FIGURE_PIXEL_JUMP).sum())
    if rms > FIGURE_RMS_TOLERANCE or clear > FIGURE_CLEAR_PIXELS:
        return (f"differs by an RMS of {rms:.2f} (tolerance {FIGURE_RMS_TOLERANCE}) with {clear} pixels clearly changed "
                f"(tolerance {FIGURE_CLEAR_PIXELS})")
    return None


def show(fig, alt):
    """Display ``fig`` as a PNG described by ``alt`` (one or two sentences: what the figure shows and what to see in
    it), then close it so Jupyter does not show it twice."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    alt = validation.text(alt, "alt", "describe the figure in a sentence, e.g. show(fig, alt=\"Loss against ...\")")
    scale = print_scale()
    data = png_bytes(fig, dpi=fig.dpi * scale if scale != 1 else None)
    plt.close(fig)
    metadata = {"alt": alt}
    if scale != 1:  # same size on the page, more pixels
        width, height = _pixels(data).shape[1::-1]
        metadata.update(width=round(width / scale), height=round(height / scale))
    display({"image/png": base64.b64encode(data).decode("ascii"), "text/plain": f"Figure: {alt}"},
            metadata={"image/png": metadata}, raw=True)


def probability_grid(predict_proba, X, resolution=200, margin=0.3):
    """Evaluate ``predict_proba`` (points (M, 2) -> probabilities (M, C)) on a grid covering X.

    Returns xx, yy of shape (R, R) and the probabilities, shape (R, R, C).
    """
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    probs = np.asarray(predict_proba(np.stack([xx.ravel(), yy.ravel()], axis=1)))
    return xx, yy, probs.reshape(resolution, resolution, -1)


def decision_regions(ax, xx, yy, probs, X, y, title=""):
    """Colour each grid point by its predicted class (lighter where less confident) and scatter the data on top.

    One unit is as long on both axes (equal aspect), so a spiral keeps its shape next to other equal-aspect panels;
    the points are their class's colour and marker shape (MARKERS) with a dark edge, which stands out on the pale
    background of every class.
    """
    n_classes = probs.shape[-1]
    colors = np.array([matplotlib.colors.to_rgb(f"C{k}") for k in range(n_classes)])
    confidence = probs.max(axis=-1, keepdims=True)
    shade = 1 - (1 - colors[probs.argmax(axis=-1)]) * (0.15 + 0.3 * confidence)
    ax.imshow(shade, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()), aspect="equal")
    for k in range(n_classes):
        ax.scatter(*X[y == k].T, s=14, color=f"C{k}", marker=MARKERS[k % len(MARKERS)], edgecolors="black",
                   linewidths=0.5, label=f"class {k}")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def draw_vocab_split(ax, ranges, n_rows=4):
    """Notebook 11's diagram: the logits (N × V) split by class into ``ranges`` [(start, stop), ...], one per rank;
    each rank's block reduced to three numbers per row (m_r, s_r, z_t,r), joined across ranks by three all-reduces."""
    from matplotlib.patches import FancyArrowPatch, Rectangle

    v, hatches = ranges[-1][1], ["", "//", "..", "xx", "\\\\"]
    buses = [(-3.9, "1. all-reduce MAX:  $m = \\max_r\\, m_r$"),
             (-4.8, "2. all-reduce SUM:  $s = \\Sigma_r\\, s_r\\, e^{m_r - m}$ (rescaled after 1.)"),
             (-5.7, "3. all-reduce SUM:  $z_t = \\Sigma_r\\, z_{t,r}$")]
    for r, (a, b) in enumerate(ranges):
        colour = f"C{r}"
        ax.add_patch(Rectangle((a, 0), b - a, n_rows, facecolor=colour, alpha=0.35, hatch=hatches[r % 5], edgecolor="k"))
        ax.text((a + b) / 2, n_rows + 0.35, f"rank {r}\nclasses {a}..{b - 1}\n$Z_{r}$: N x {b - a}", ha="center", va="bottom")
        for k, name in enumerate((f"$m_{r}$", f"$s_{r}$", f"$z_{{t,{r}}}$")):  # the rank's three numbers per row
            x = a + (b - a) / 2 - 0.9 + 0.9 * k
            ax.add_patch(Rectangle((x - 0.3, -3.0), 0.6, 1.6, facecolor=colour, alpha=0.6, edgecolor="k"))
            ax.text(x, -2.2, name, ha="center", va="center")
            ax.add_artist(FancyArrowPatch(((a + b) / 2, -0.1), (x, -1.35), arrowstyle="-|>", mutation_scale=8, color="0.3"))
            ax.plot([x, x], [-3.0, buses[k][0]], color="k", lw=1, ls="-")
            ax.plot(x, buses[k][0], "ko", ms=3)
    for y, text in buses:  # each reduction joins the same number of every rank
        ax.plot([ranges[0][0] + 0.5, v + 0.4], [y, y], color="k", lw=1, ls="-")
        ax.text(v + 0.6, y, text, va="center")
    ax.text(v + 0.6, -6.7, "then, on every rank, each row's loss:  $\\ell = m + \\log s - z_t$", va="center")
    for i in range(1, n_rows):
        ax.plot([0, v], [i, i], color="k", lw=0.5, ls="-")
    ax.text(-0.2, n_rows / 2, "N rows", ha="right", va="center", rotation=90)
    ax.set_xlim(-0.8, v + 9.2)
    ax.set_ylim(-7.1, n_rows + 2.6)
    ax.set_axis_off()
    ax.set_title(f"logits Z (N x V) split by class over P = {len(ranges)} ranks: 3 numbers per row and rank, 3 all-reduces")
