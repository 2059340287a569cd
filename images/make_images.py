"""Draw the course's diagrams into images/ (run: `make images`). Same bytes on every run of the same versions.

    python images/make_images.py           write every figure
    python images/make_images.py --check   exit 1 if a committed figure differs from what the script draws by more
                                           than a rendering difference (softmax_ce.plotting.figure_change)
"""

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
from softmax_ce import functional as npF  # noqa: E402
from softmax_ce.plotting import COURSE_STYLE, figure_change, png_bytes  # noqa: E402


def softmax_pipeline():
    """logits -> exp -> divide by the sum -> probabilities, for the logits [2.0, 1.0, 0.1]."""
    z = np.array([2.0, 1.0, 0.1])
    e = np.exp(z)
    p = npF.softmax(z, dim=0)
    stages = [
        ("logits z", z, [f"{v:.1f}" for v in z], "C0"),
        ("exp(z)", e, [f"{v:.3f}" for v in e], "C1"),
        (f"exp(z) / {e.sum():.3f} (sums to 1)", p, [f"{v:.4f}" for v in p], "C2"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.0), gridspec_kw={"wspace": 0.8})
    for ax, (title, values, labels, color) in zip(axes, stages):
        bars = ax.bar(range(3), values, color=color, width=0.6)
        ax.bar_label(bars, labels, padding=2, fontsize=9)
        ax.set_xticks(range(3), ["class 0", "class 1", "class 2"], fontsize=8)
        ax.set_xlim(-0.5, 2.5)  # room for the bar labels, which are wider than the bars, inside the axes
        ax.set_ylim(0, values.max() * 1.25)
        ax.set_title(title, fontsize=10)
        ax.grid(False)
    for left, right, text in [(axes[0], axes[1], "exponentiate"), (axes[1], axes[2], "normalise")]:
        x0 = left.get_position().x1
        x1 = right.get_position().x0
        fig.text((x0 + x1) / 2, 0.52, "→", ha="center", va="center", fontsize=22)
        fig.text((x0 + x1) / 2, 0.42, text, ha="center", va="center", fontsize=8)
    fig.suptitle("softmax([2.0, 1.0, 0.1]) = [0.6590, 0.2424, 0.0986]", fontsize=11, y=1.02)
    return fig


def cross_entropy_true_class():
    """Cross-entropy reads one bar: −log of the probability given to the true class (class 0 here)."""
    cases = [("good logits [2.0, 1.0, 0.1]", np.array([2.0, 1.0, 0.1])), ("bad logits [0.5, 2.0, 0.3]", np.array([0.5, 2.0, 0.3]))]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0), gridspec_kw={"width_ratios": [1, 1, 1.3], "wspace": 0.4})
    for ax, (title, z) in zip(axes[:2], cases):
        p = npF.softmax(z, dim=0)
        colors = ["C3", "lightgray", "lightgray"]
        bars = ax.bar(range(3), p, color=colors, width=0.6)
        ax.bar_label(bars, [f"{v:.4f}" for v in p], padding=2, fontsize=9)
        ax.set_xticks(range(3), ["class 0\n(true)", "class 1", "class 2"], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"{title}\nloss = −log {p[0]:.4f} = {-np.log(p[0]):.4f}", fontsize=9)
        ax.grid(False)
    axes[0].set_ylabel("softmax probability", fontsize=8)
    ps = np.linspace(0.02, 1.0, 200)
    axes[2].plot(ps, -np.log(ps), color="k", lw=1)
    for _, z in cases:
        p0 = npF.softmax(z, dim=0)[0]
        axes[2].plot(p0, -np.log(p0), "o", color="C3")
        axes[2].annotate(f"{-np.log(p0):.4f}", (p0, -np.log(p0)), xytext=(6, 4), textcoords="offset points", fontsize=8)
    axes[2].set_xlabel("probability of the true class", fontsize=8)
    axes[2].set_ylabel("cross-entropy loss", fontsize=8)
    axes[2].set_title("loss = −log p(true class)", fontsize=9)
    return fig


FIGURES = {"softmax_pipeline.png": softmax_pipeline, "cross_entropy_true_class.png": cross_entropy_true_class}


def render(name):
    with matplotlib.rc_context(COURSE_STYLE):
        fig = FIGURES[name]()
        data = png_bytes(fig)
        plt.close(fig)
    return data


def main(args):
    stale = []
    for name in FIGURES:
        data, path = render(name), HERE / name
        if "--check" in args:
            change = figure_change(data, path.read_bytes()) if path.exists() else "is missing"
            if change:
                stale.append((name, change if change == "is missing" else f"{change} from what the script draws"))
        else:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(HERE.parent)}")
    for name, how in stale:
        print(f"images/{name} {how}: run `make images` and look at it")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
