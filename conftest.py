"""Settings for every test run: the order of the files, the environment of the kernels, and how nbval compares.

The order in which `make test` hands files to its two workers (--dist loadfile --no-loadscope-reorder).

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

import copy
import os
import pathlib
import re

from softmax_ce.plotting import figure_change

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
# A plot changed in code but not refreshed with `make outputs` fails its cell. Cells tagged nbval-ignore-output are not
# compared at all (nbval skips them). The measure and its tolerance live in softmax_ce.plotting (make_images.py uses
# them too).


def compare_figures(test, ref, notebook="notebooks/NN_topic.ipynb"):
    """Messages for every figure of ``test`` (a cell's new outputs) that differs from ``ref`` (the stored ones)."""
    new = [o["data"]["image/png"] for o in test if "image/png" in o.get("data", {})]
    stored = [o["data"]["image/png"] for o in ref if "image/png" in o.get("data", {})]
    if len(new) != len(stored):
        return [f"the cell draws {len(new)} figure(s), the notebook stores {len(stored)}: refresh it with "
                f"make outputs NB={notebook}"]
    problems = []
    for k, (a, b) in enumerate(zip(new, stored), 1):
        if change := figure_change(a, b):
            problems.append(f"figure {k} of the cell {change} from the stored one: the plot changed; refresh the notebook "
                            f"with make outputs NB={notebook} and look at the figure")
    return problems


# ----------------------------------------------------------------------------- full-precision floats
# A float printed in full (its repr: 0.35667494393873245, as 02 prints the seed tutorials' numbers on purpose) can
# differ in its last digits on another CPU or libm. Such numbers, 9 or more decimals, are compared to 7 significant
# digits; everything printed with a fixed precision (:.4f) is compared exactly. The seeds' exact text is checked by
# tests/course/test_notebooks.py on the stored outputs.

FULL_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{9,}(?:[eE][+-]?\d+)?(?!\w|\.\d)")  # may end a sentence: "0.1234567891."


def seven_digits(text):
    """``text`` with every float of 9 or more decimals rounded to 7 significant digits."""
    return FULL_FLOAT.sub(lambda m: f"{float(m.group()):.7g}", text)


def rounded(outputs):
    """Copies of a cell's outputs with full-precision floats rounded (stream text and text/plain)."""
    out = copy.deepcopy(outputs)
    for o in out:
        if isinstance(o.get("text"), str):
            o["text"] = seven_digits(o["text"])
        data = o.get("data", {})
        if isinstance(data.get("text/plain"), str):
            data["text/plain"] = seven_digits(data["text/plain"])
    return out


def pytest_configure(config):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    if getattr(IPyNbCell.compare_outputs, "compares_figures", False):
        return
    printed = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        same = printed(self, rounded(test), rounded(ref), skip_compare)
        problems = compare_figures(test, ref, notebook=os.path.relpath(str(self.parent.path)))
        if not same or problems:  # nbval counts cells from 0; JupyterLab shows [n]: say both, and the cell's id
            problems.append(f"(nbval's {self.name} is the cell JupyterLab shows as [{self.cell.get('execution_count')}], "
                            f"cell id {self.cell.get('id')})")
        self.comparison_traceback = getattr(self, "comparison_traceback", []) + problems
        return same and not problems

    compare_outputs.compares_figures = True
    IPyNbCell.compare_outputs = compare_outputs
