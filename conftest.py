"""The order in which `make test` hands files to its two workers (--dist loadfile --no-loadscope-reorder).

A run ends when the busier worker ends, so the longest files go first and the many short ones last, where they
even the two workers out:
1. the two browser test files (about 20 s each), one per worker;
2. the notebooks, last first (08 and 09 take about 6 s, 01 to 05 two or three);
3. every other test file (under 4 s each), in name order.
Inside a file nothing moves: nbval runs a notebook's cells in order.

It also sets the environment of every test process and of the kernels nbval starts (they inherit it), here and not
in notebooks/ where students would see a test file:
- no progress bars: their timings would differ on every run;
- one thread per process: the suite runs one test file per core, and several multi-threaded kernels on the same
  cores spend their time waiting for each other (a 2 s cell took 25 s).
"""

import base64
import io
import os
import pathlib

import numpy as np  # imported here, not in figure_rms: pytester's in-process runs must not be the first to load them
from PIL import Image

os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def suite_order(path):
    """Sort key of a test file or notebook: (group, position inside the group)."""
    path = pathlib.Path(path)
    if path.suffix == ".ipynb":
        return (1, -int(path.name[:2]) if path.name[:2].isdigit() else 0, path.name)
    if path.name.startswith("test_browser_"):
        return (0, 0, path.name)
    return (2, 0, str(path))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: suite_order(item.path))  # a stable sort: each file's own order stays


# ----------------------------------------------------------------------------- figures are compared too
# nbval compares every printed output but skips image/png. Here each figure a cell draws is compared with the stored
# one, with a tolerance that survives a harmless rendering difference (another FreeType or matplotlib patch release):
# the root-mean-square difference of the pixels, on the 0-255 scale, as matplotlib.testing.compare measures it.
# A plot changed in code but not refreshed with `make outputs` fails its cell. `# NBVAL_IGNORE_OUTPUT` cells are not
# compared at all (nbval skips them).

FIGURE_RMS_TOLERANCE = 2.0


def figure_rms(png_a, png_b):
    """RMS pixel difference of two base64 PNGs (0-255), or None when their sizes differ."""
    a, b = (np.asarray(Image.open(io.BytesIO(base64.b64decode(p))).convert("RGB"), dtype=np.float64) for p in (png_a, png_b))
    if a.shape != b.shape:
        return None
    return float(np.sqrt(np.mean((a - b) ** 2)))


def compare_figures(test, ref):
    """Messages for every figure of ``test`` (a cell's new outputs) that differs from ``ref`` (the stored ones)."""
    new = [o["data"]["image/png"] for o in test if "image/png" in o.get("data", {})]
    stored = [o["data"]["image/png"] for o in ref if "image/png" in o.get("data", {})]
    if len(new) != len(stored):
        return [f"the cell draws {len(new)} figure(s), the notebook stores {len(stored)}: refresh it with make outputs"]
    problems = []
    for k, (a, b) in enumerate(zip(new, stored), 1):
        rms = figure_rms(a, b)
        if rms is None or rms > FIGURE_RMS_TOLERANCE:
            what = "has another size" if rms is None else f"differs by an RMS of {rms:.2f} (tolerance {FIGURE_RMS_TOLERANCE})"
            problems.append(f"figure {k} of the cell {what} from the stored one: the plot changed; refresh the notebook "
                            "with make outputs NB=... and look at the figure")
    return problems


def pytest_configure(config):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    if getattr(IPyNbCell.compare_outputs, "compares_figures", False):
        return
    printed = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        same = printed(self, test, ref, skip_compare)
        problems = compare_figures(test, ref)
        self.comparison_traceback = getattr(self, "comparison_traceback", []) + problems
        return same and not problems

    compare_outputs.compares_figures = True
    IPyNbCell.compare_outputs = compare_outputs
