"""Re-execute notebooks in a fresh kernel and store their outputs in place.

    python tools/outputs.py [NOTEBOOK ...]      (default: every notebooks/NN_*.ipynb)

Atomic per notebook: it is executed in memory and written only when every cell succeeded; on a failing
cell the file is left byte-for-byte unchanged, the cell and the error are printed, and the exit code is 1.
Metadata is normalised (kernelspec, language_info, no timing stamps) and split stream chunks are joined, so
that a re-run changes only what the code printed.
"""

import os
import pathlib
import sys
import tempfile

import nbclient
import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalise(nb):
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    version = ".".join(str(nb.metadata.get("language_info", {}).get("version", "3")).split(".")[:2])
    nb.metadata["language_info"] = {"name": "python", "version": version, "pygments_lexer": "ipython3"}
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    return nb


def merge_streams(outputs):
    """Join consecutive stdout (or stderr) chunks: the kernel splits a print at random flush points."""
    merged = []
    for out in outputs:
        if merged and out.output_type == "stream" and merged[-1].output_type == "stream" and merged[-1].name == out.name:
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


# Kernels inherit these: the same conditions as under nbval (notebooks/conftest.py), so the stored outputs are
# computed exactly as the tests will recompute them: no progress bars, one thread.
os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def execute(path):
    """Execute ``path``; write it back only if every cell ran. Returns True on success."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        print(f"FAILED {path}: left unchanged\n{err}", file=sys.stderr)
        return False
    text = nbformat.writes(normalise(nb)) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.chmod(tmp.name, path.stat().st_mode)
    os.replace(tmp.name, path)
    print(f"ok     {path}")
    return True


def main(args):
    paths = [pathlib.Path(a) for a in args] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = [execute(p) for p in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
