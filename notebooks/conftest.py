"""Notebooks run under nbval from here: no progress bars (their timings would differ on every run)."""

import os

os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
