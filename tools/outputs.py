"""Re-execute notebooks in a fresh kernel and store their outputs in place; or only tidy their metadata.

    python tools/outputs.py [NOTEBOOK ...]                  execute, then store outputs (default: every notebooks/NN_*.ipynb)
    python tools/outputs.py --normalise-only [NOTEBOOK ...]  tidy metadata, keep the outputs
    python tools/outputs.py --staged [NOTEBOOK ...]          the pre-commit hook: is what `git add` staged tidy and run
                                                            in order? if not, tidy the file and fail (add it again)
    python tools/outputs.py --clean < in.ipynb > out.ipynb   git's clean filter (`make hooks`): `git add` stores the
                                                            tidy form and leaves your file as it is
    python tools/outputs.py --check [NOTEBOOK ...]           exit 1 if a notebook's metadata is not tidy, or its
                                                            cells ran out of order (tidying cannot fix that)

Atomic per notebook: it is executed in memory and written only when every cell succeeded; on a failing
cell the file is left byte-for-byte unchanged, the cell and the error are printed, and the exit code is 1.
Normalising means: kernelspec python3, language_info without the Python version, no widget state, no
timing stamps, no live-widget outputs (they point at state that is not stored), split stream chunks
joined, no view state JupyterLab leaves on cells (`scrolled`, `collapsed`, empty `tags`); solution cells (tagged
`solution`) folded, source and output (`jupyter.source_hidden` / `outputs_hidden`), and no other cell folded.
Cell ids are kept, so a re-run changes only what the code printed.
"""

import argparse
import os
import pathlib
import sys
import tempfile

import nbformat
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FOLDED = {"source_hidden": True, "outputs_hidden": True}  # JupyterLab shows a bar; one click opens the cell


def normalise(nb):
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    # no Python version: the same file whichever supported Python ran it (the kernel writes its own, e.g. 3.12.4)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in ("execution", "scrolled", "collapsed"):
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
        if "solution" in cell.metadata.get("tags", []):
            cell.metadata["jupyter"] = dict(FOLDED)  # out of a student's sight until they open it
        else:
            cell.metadata.pop("jupyter", None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
    # nbconvert's own: consecutive stdout (or stderr) chunks joined, as the kernel splits a print at random flush points
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def text_of(nb):
    return nbformat.writes(nb) + "\n"


def write_atomically(path, text):
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.chmod(tmp.name, path.stat().st_mode)
    os.replace(tmp.name, path)


# Kernels inherit these: the same conditions as under nbval (the root conftest.py), so the stored outputs are
# computed exactly as the tests will recompute them: no progress bars, one thread.
os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def execute(path):
    """Execute ``path``; write it back only if every cell ran. Returns True on success."""
    import nbclient  # only this mode needs a kernel

    nb = nbformat.read(path, as_version=4)
    # "immediate": every output is in memory by then, and a graceful kernel shutdown costs about a second
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False, shutdown_kernel="immediate",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        print(f"FAILED {path}: left unchanged\n{err}", file=sys.stderr)
        return False
    write_atomically(path, text_of(normalise(nb)))
    print(f"ok     {path}")
    return True


def order_problem(nb):
    """Why the stored outputs may not be a top-to-bottom run (execution counts not 1, 2, 3, ...), or None."""
    counts = [c.get("execution_count") for c in nb.cells if c.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        shown = ", ".join(str(c) for c in counts[:12]) + (", ..." if len(counts) > 12 else "")
        return f"its code cells ran out of order or not at all (execution counts {shown})"
    return None


def tidy(path, check_only):
    """Normalise ``path``'s metadata without executing it. Returns True when it was already tidy and ran in order
    (nbval and the tests expect a top-to-bottom run; only `make outputs` can make one)."""
    before = path.read_text(encoding="utf-8")
    nb = normalise(nbformat.reads(before, as_version=4))
    after = text_of(nb)
    if problem := order_problem(nb):
        print(f"{path}: {problem}: run `make outputs NB={path}` (a fresh kernel, top to bottom)", file=sys.stderr)
    if before == after:
        return problem is None
    if check_only:
        print(f"untidy {path}: run python tools/outputs.py --normalise-only {path}", file=sys.stderr)
    else:
        write_atomically(path, after)
        print(f"tidied {path}")
    return False  # a hook that changed a file fails, so that the tidy file is what gets committed


def clean(text):
    """The tidy form of a notebook's text, for git's clean filter; anything that is not a notebook passes unchanged
    (a filter must never lose what `git add` is given)."""
    try:
        return text_of(normalise(nbformat.reads(text, as_version=4)))
    except Exception:  # not JSON, not a notebook, an old format: store it as it is
        return text


def staged(path):
    """The pre-commit hook: True when the staged version of ``path`` is tidy and ran in order. When it is not tidy
    (no clean filter set up), the file is tidied, as --normalise-only does, and the commit stops so it can be added
    again. The hook never stages anything itself: pre-commit puts your unstaged changes back afterwards, and a hook
    that changed the index would make that fail."""
    import subprocess

    result = subprocess.run(["git", "show", f":{path.as_posix()}"], capture_output=True, text=True, encoding="utf-8")
    if result.returncode:  # not in the index (pre-commit passes only staged files; `--files` may pass others)
        return tidy(path, check_only=False)
    text = result.stdout
    if clean(text) == text:  # tidy as staged: only the run order is left to check
        problem = order_problem(nbformat.reads(text, as_version=4))
        if problem:
            print(f"{path}: {problem}: run `make outputs NB={path}` (a fresh kernel, top to bottom)", file=sys.stderr)
        return problem is None
    tidy(path, check_only=False)  # says itself when the run order is wrong too
    print(f"{path}: git add it again (or run `make hooks` once: then git add stores notebooks tidy by itself)")
    return False


def path_problem(paths):
    """One line on the first argument that is not a notebook file (a mistyped NB=...), or None."""
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            known = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
            near = [p for p in known if p.stem[:2] == path.stem[:2]]
            hint = (f"; did you mean NB=notebooks/{near[0].name}?" if near else
                    f"; the notebooks are notebooks/NN_topic.ipynb ({known[0].name} to {known[-1].name})" if known else "")
            what = "is not a notebook (.ipynb)" if path.suffix != ".ipynb" and path.exists() else "does not exist"
            return f"{path} {what}{hint}"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--normalise-only", action="store_true", help="tidy metadata, do not execute")
    mode.add_argument("--check", action="store_true", help="only report notebooks whose metadata is not tidy")
    mode.add_argument("--staged", action="store_true", help="check what git staged (the pre-commit hook)")
    mode.add_argument("--clean", action="store_true", help="git's clean filter: a notebook on stdin, its tidy form on stdout")
    args = parser.parse_args(argv)
    if args.clean:
        data = sys.stdin.buffer.read().decode("utf-8", errors="surrogateescape")
        sys.stdout.buffer.write(clean(data).encode("utf-8", errors="surrogateescape"))
        return 0
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if problem := path_problem(paths):
        print(problem, file=sys.stderr)
        return 2
    if args.normalise_only or args.check:
        results = [tidy(p, args.check) for p in paths]
    elif args.staged:
        results = [staged(p) for p in paths]
    else:
        results = [execute(p) for p in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
