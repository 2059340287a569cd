"""Shared test settings: hypothesis profiles (derandomised under CI so three runs in a row agree)."""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # tests run one per core (pytest -n auto): no threads fighting over the cores
os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"  # kernels that tests start show no progress bars

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=2000)  # HYPOTHESIS_PROFILE=thorough make test
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
