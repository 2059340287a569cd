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

import os
import pathlib

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
