"""One plot style for the course (``use_course_style``), and ``show``: display a figure as a PNG only.

Importing this module changes nothing: a notebook asks for the style by calling ``use_course_style()``.

``plt.show()`` in Jupyter stores a ``<Figure size 640x480 with 1 Axes>`` text next to the picture, and
nbval would compare that text. ``show(fig)`` publishes the PNG alone (nbval skips PNGs), so plots
never make a notebook's test depend on matplotlib's wording.
"""

import base64
import io

import matplotlib
import numpy as np

COURSE_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "svg.hashsalt": "softmax-ce",
}


def use_course_style():
    """Set matplotlib's rcParams to ``COURSE_STYLE`` for the figures drawn after this call."""
    matplotlib.rcParams.update(COURSE_STYLE)


def png_bytes(fig):
    """The figure as PNG bytes, without the matplotlib version stamp (same bytes on every run)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


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


def show(fig):
    """Display ``fig`` as a PNG (no text twin), then close it so Jupyter does not show it twice."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    data = png_bytes(fig)
    plt.close(fig)
    display({"image/png": base64.b64encode(data).decode("ascii")}, raw=True)


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
    the points are their class's colour with a dark edge, which stands out on the pale background of every class.
    """
    n_classes = probs.shape[-1]
    colors = np.array([matplotlib.colors.to_rgb(f"C{k}") for k in range(n_classes)])
    confidence = probs.max(axis=-1, keepdims=True)
    shade = 1 - (1 - colors[probs.argmax(axis=-1)]) * (0.15 + 0.3 * confidence)
    ax.imshow(shade, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()), aspect="equal")
    for k in range(n_classes):
        ax.scatter(*X[y == k].T, s=12, color=f"C{k}", edgecolors="black", linewidths=0.5, label=f"class {k}")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
