"""The helper package as a library: installed, and importing it changes nothing global."""

import json
import os
import subprocess
import sys

SNAPSHOT = """
import json, warnings
import matplotlib, numpy, torch
def state():
    return {"rcParams": {k: repr(v) for k, v in matplotlib.rcParams.items()}, "printoptions": repr(numpy.get_printoptions()),
            "errstate": repr(numpy.geterr()), "torch_dtype": str(torch.get_default_dtype()),
            "torch_threads": torch.get_num_threads(), "warnings": repr(warnings.filters)}
before = state()
import importlib, pkgutil, softmax_ce
for module in pkgutil.walk_packages(softmax_ce.__path__, "softmax_ce."):
    importlib.import_module(module.name)
after = state()
print(json.dumps({k: [before[k], after[k]] for k in before if before[k] != after[k]}))
"""


def test_importing_every_module_changes_no_global_setting():
    """matplotlib's rcParams, NumPy's print and error settings, torch's default dtype and threads, warning filters:
    a notebook opts in to the course's plot style with use_course_style(); importing only defines things."""
    out = subprocess.run([sys.executable, "-c", SNAPSHOT], capture_output=True, text=True, check=True).stdout
    changed = json.loads(out.strip().splitlines()[-1])
    assert changed == {}, f"importing softmax_ce changed {sorted(changed)}: move the change into a function the caller calls"


def test_the_package_is_installed_not_found_through_sys_path(tmp_path):
    """The set-up installs softmax_ce (editable), so tools, benchmarks and images import it from anywhere."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # found only if installed
    out = subprocess.run([sys.executable, "-c", "import softmax_ce; print(softmax_ce.__file__)"], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"softmax_ce is not installed in {sys.prefix}: run `make setup` (it installs it with -e .)"
