"""Where the test suite's time goes: `make suite-time`.

    python benchmarks/suite_time.py [--skip-suite] [--json]

1. nbval over the notebooks, serially (one pytest process, -p no:xdist): each notebook's time (kernel start and
   imports are in its first cell) and the total wall time.
2. The same nbval run in parallel, as `make test` runs it (-n auto --dist loadfile ...): wall time and the
   serial / parallel ratio.
3. Unless --skip-suite: the whole `make test` pytest command, its wall time, and the files that take longest
   (per-file sums of every test's setup + call + teardown, as worker time).

Times come from pytest's JUnit XML report; wall times from this script's clock. Run it on an otherwise idle
machine: another busy process changes every figure.
"""

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
NBVAL = ["--nbval", "--nbval-current-env"]
PARALLEL = ["-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]  # as make test runs it (tools/course.py TEST_COMMANDS)


def run_pytest(args, report):
    """Run pytest with ``args``; return (wall seconds, {file: summed test seconds}, number of tests)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *args],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} failed:\n{done.stdout[-3000:]}")
    per_file = collections.defaultdict(float)
    cases = ET.parse(report).getroot().iter("testcase")
    n = 0
    for case in cases:
        per_file[file_of(case)] += float(case.get("time", 0))
        n += 1
    return wall, dict(per_file), n


def file_of(case):
    """notebooks.01_softmax.ipynb -> notebooks/01_softmax.ipynb; tests.e2e.test_browser_lab -> tests/e2e/test_browser_lab.py."""
    name = case.get("classname", "")
    if ".ipynb" in name:
        folder, _, stem = name.partition(".")
        return f"{folder}/{stem}"
    parts = name.split(".")
    while parts and parts[-1][:1].isupper():  # a test class
        parts.pop()
    return "/".join(parts) + ".py"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-suite", action="store_true", help="only the notebooks, not the whole make test run")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args(argv)
    notebooks = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        serial_wall, per_notebook, _ = run_pytest(["-p", "no:xdist", *NBVAL, *notebooks], pathlib.Path(tmp) / "serial.xml")
        parallel_wall, _, _ = run_pytest([*PARALLEL, *NBVAL, *notebooks], pathlib.Path(tmp) / "parallel.xml")
        result["notebooks"] = {nb: round(per_notebook.get(nb, 0.0), 2) for nb in notebooks}
        result["nbval_serial_wall"] = round(serial_wall, 2)
        result["nbval_parallel_wall"] = round(parallel_wall, 2)
        result["serial_over_parallel"] = round(serial_wall / parallel_wall, 2)
        if not args.skip_suite:
            wall, per_file, n = run_pytest([*PARALLEL, *NBVAL, "tests", "notebooks"], pathlib.Path(tmp) / "suite.xml")
            result["suite"] = {"wall": round(wall, 2), "tests": n, "worker_seconds": round(sum(per_file.values()), 2),
                               "slowest_files": dict(sorted(((f, round(t, 2)) for f, t in per_file.items()),
                                                            key=lambda item: -item[1])[:12])}

    print(f"{'notebook':45} {'seconds':>8}   (nbval, one process, kernel start included)")
    for nb, seconds in result["notebooks"].items():
        print(f"{nb:45} {seconds:8.2f}")
    print(f"{'sum':45} {sum(result['notebooks'].values()):8.2f}")
    print(f"nbval serial wall {serial_wall:.1f} s, parallel ({os.cpu_count()} cores, -n auto --dist loadfile) "
          f"{parallel_wall:.1f} s: ratio {result['serial_over_parallel']:.2f}")
    if "suite" in result:
        suite = result["suite"]
        print(f"\nwhole suite (make test's pytest command): {suite['tests']} tests, wall {suite['wall']:.1f} s, "
              f"{suite['worker_seconds']:.1f} worker-seconds")
        for name, seconds in suite["slowest_files"].items():
            print(f"  {name:50} {seconds:7.2f}")
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
