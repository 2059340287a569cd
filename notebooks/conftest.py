"""Settings for notebooks run under nbval (the kernels inherit this process's environment).

- No progress bars: their timings would differ on every run.
- One thread per kernel: the suite runs notebooks in parallel, one per core, and several multi-threaded
  kernels on the same cores spend their time waiting for each other (a 2 s cell took 25 s).
"""

import os

os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(name, "1")
