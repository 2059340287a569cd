"""The helper package on a system without Unix's `resource` module and without /proc, as on Windows.

A fresh Python with both taken away (a sitecustomize.py that blocks them) imports every module of softmax_ce and
every notebook's import cell; the memory measurement then says it measured nothing, and the benchmark says why.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

NO_UNIX = textwrap.dedent("""
    import builtins, io, sys
    sys.modules["resource"] = None  # `import resource` raises ImportError, as on Windows
    _open = builtins.open
    def _no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc"):
            raise FileNotFoundError(2, "No such file or directory (simulated Windows)", str(file))
        return _open(file, *args, **kwargs)
    builtins.open = io.open = _no_proc
""")


def run_without_unix(tmp_path, code):
    (tmp_path / "sitecustomize.py").write_text(NO_UNIX, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT / "notebooks",
                            timeout=120)
    assert result.returncode == 0, f"fails without resource and /proc (as on Windows):\n{result.stderr[-3000:]}"
    return result.stdout


def test_the_simulation_takes_resource_and_proc_away(tmp_path):
    out = run_without_unix(tmp_path, textwrap.dedent("""
        try:
            import resource
        except ImportError:
            print("no resource")
        try:
            open("/proc/self/status")
        except OSError:
            print("no /proc")
    """))
    assert out.split("\n")[:2] == ["no resource", "no /proc"]


def test_every_import_cell_works_and_memory_is_not_measured(tmp_path):
    import_cells = [next(c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code") for p in NOTEBOOKS]
    code = textwrap.dedent("""
        import json, pkgutil, importlib
        import softmax_ce
        for module in pkgutil.iter_modules(softmax_ce.__path__):
            importlib.import_module("softmax_ce." + module.name)
        from softmax_ce.memory import peak_rss_growth_mb
        print(json.dumps(peak_rss_growth_mb(lambda: 41 + 1)))
        for source in json.loads(CELLS):
            exec(source, {})
    """)
    out = run_without_unix(tmp_path, f"CELLS = {json.dumps(json.dumps(import_cells))}\n" + code)
    assert out.splitlines()[0] == "[42, null]", "peak_rss_growth_mb must return (result, None) where it cannot measure"


def test_the_benchmark_says_why_it_cannot_measure_memory(tmp_path):
    code = ("import runpy; b = runpy.run_path(" + repr(str(ROOT / "benchmarks" / "large_vocab.py")) + "); "
            "b['run_one']('ours', 16, 4, 32, 'float32', 1, " + repr(str(tmp_path / "r.pt")) + ", 'memory')")
    (tmp_path / "sitecustomize.py").write_text(NO_UNIX, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and "reports no peak memory" in result.stderr.splitlines()[-1], result.stderr[-2000:]
