"""One plot style for the course, and ``show``: display a figure as a PNG only.

``plt.show()`` in Jupyter stores a ``<Figure size 640x480 with 1 Axes>`` text next to the picture, and
nbval would compare that text. ``show(fig)`` publishes the PNG alone (nbval skips PNGs), so plots
never make a notebook's test depend on matplotlib's wording.
"""

import base64
import io

import matplotlib

matplotlib.rcParams.update({
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "svg.hashsalt": "softmax-ce",
})


def png_bytes(fig):
    """The figure as PNG bytes, without the matplotlib version stamp (same bytes on every run)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def show(fig):
    """Display ``fig`` as a PNG (no text twin), then close it so Jupyter does not show it twice."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    data = png_bytes(fig)
    plt.close(fig)
    display({"image/png": base64.b64encode(data).decode("ascii")}, raw=True)
