"""How long a fresh clone's set-up takes: `make setup` in new clones of this repository, several runs, medians.

    python benchmarks/setup_time.py [--runs 3] [--python python3 /usr/bin/python3] [--cold] [--pip]

Each run clones HEAD into a new temporary directory, runs `make setup PYTHON=...` there and times it (wall clock),
then deletes the clone. By default uv's cache is the user's own (warm after the first set-up on a machine): the time
a learner waits on a second clone, or after requirements.txt changes. --cold also gives every run an empty uv cache
of its own, so everything is downloaded again (a learner's first set-up; torch still comes from PIP_FIND_LINKS where
that is set, as on the course's machines). --pip adds one run of INSTALLER=pip for comparison.
Nothing here is a test: it prints a table, and the README quotes it.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def one_setup(python, cache=None, installer=None):
    """Seconds for `make setup` in a fresh clone (and what it printed, if it failed)."""
    with tempfile.TemporaryDirectory(prefix="course-setup-time-") as tmp:
        clone = pathlib.Path(tmp) / "course"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ)
        if cache:
            env["UV_CACHE_DIR"] = str(pathlib.Path(tmp) / "uv-cache")
        command = ["make", "--no-print-directory", "setup", f"PYTHON={python}"]
        if installer:
            command.append(f"INSTALLER={installer}")
        start = time.perf_counter()
        result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode:
            sys.exit(f"make setup failed in {clone}:\n{result.stdout}{result.stderr}")
        return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", nargs="+", default=["python3", "/usr/bin/python3"])
    parser.add_argument("--cold", action="store_true", help="also measure with an empty uv cache per run")
    parser.add_argument("--pip", action="store_true", help="also one run with INSTALLER=pip")
    args = parser.parse_args(argv)
    rows = []
    for python in args.python:
        if not shutil.which(python):
            print(f"skipping {python}: not found")
            continue
        version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip()
        modes = [("uv, warm cache", {})] + ([("uv, empty cache", {"cache": True})] if args.cold else [])
        for mode, options in modes:
            times = [one_setup(python, **options) for _ in range(args.runs)]
            rows.append((f"{python} ({version})", mode, times))
            print(f"{rows[-1][0]:32s} {mode:16s} " + " ".join(f"{t:5.1f}" for t in times), flush=True)
        if args.pip:
            rows.append((f"{python} ({version})", "pip", [one_setup(python, installer="pip")]))
            print(f"{rows[-1][0]:32s} {'pip':16s} {rows[-1][2][0]:5.1f}", flush=True)
    print(f"\n{'interpreter':32s} {'installer':16s} {'runs':>4s} {'median s':>9s} {'min':>6s} {'max':>6s}")
    for name, mode, times in rows:
        print(f"{name:32s} {mode:16s} {len(times):4d} {statistics.median(times):9.1f} {min(times):6.1f} {max(times):6.1f}")


if __name__ == "__main__":
    main()
