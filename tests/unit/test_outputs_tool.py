"""tools/outputs.py, the maintainers' `make outputs`: atomic on failure, deterministic, normalising metadata."""

import json
import pathlib
import shutil

import nbformat
import pytest

import outputs  # tools/outputs.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]

STORED = "02_cross_entropy.ipynb"


def workspace(tmp_path, notebook="01_softmax.ipynb"):
    shutil.copytree(ROOT / "notebooks" / "softmax_ce", tmp_path / "softmax_ce", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "notebooks" / notebook, tmp_path / notebook)
    return tmp_path / notebook


def test_a_failing_cell_leaves_the_notebook_byte_for_byte_unchanged(tmp_path, capsys):
    path = workspace(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("print('about to fail')\nraise ZeroDivisionError('planted failure')"))
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert outputs.main([str(path)]) == 1  # the exit code of `make outputs`
    stderr = capsys.readouterr().err
    assert path.read_bytes() == before
    assert "planted failure" in stderr and "ZeroDivisionError" in stderr and "left unchanged" in stderr
    assert not list(tmp_path.glob("*.tmp")), "no temporary file left behind"


def test_check_mode_reports_untidy_metadata_and_changes_nothing(tmp_path, capsys):
    path = workspace(tmp_path)
    data = json.loads(path.read_text())
    data["metadata"]["language_info"]["version"] = "3.11.7"
    path.write_text(json.dumps(data, indent=1))
    before = path.read_bytes()
    assert outputs.main(["--check", str(path)]) == 1
    assert "untidy" in capsys.readouterr().err and path.read_bytes() == before
    assert outputs.main(["--check", *map(str, sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))]) == 0


def test_outputs_are_the_same_as_the_stored_run_and_metadata_is_normalised(tmp_path):
    """The stored notebook came from an earlier `make outputs`: running it again must give the same bytes
    (deterministic outputs, and a re-run that tidies what JupyterLab adds to the metadata). nbval checks the
    outputs of every notebook; this checks the whole file, on one of the quickest notebooks."""
    path = workspace(tmp_path, STORED)
    data = json.loads(path.read_text())
    data["metadata"]["language_info"]["version"] = "3.11.7"
    data["metadata"]["widgets"] = {"state": {}}
    data["cells"][1]["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    path.write_text(json.dumps(data, indent=1))
    assert outputs.main([str(path)]) == 0  # in this process (the test above runs the command line)
    first = path.read_bytes()
    nb = json.loads(first)
    assert "version" not in nb["metadata"]["language_info"] and "widgets" not in nb["metadata"]
    assert all("execution" not in c["metadata"] for c in nb["cells"])
    assert first == (ROOT / "notebooks" / STORED).read_bytes(), "the stored notebook is not what make outputs writes"


@pytest.mark.parametrize("name", [p.name for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))])
def test_what_a_run_adds_to_the_metadata_is_tidied_back_to_the_stored_file(name):
    """Why a second `make outputs` changes nothing, without running it: nbval proves each notebook prints and draws
    what it stores; what else a run writes (the kernel's language_info for whichever supported Python runs it,
    timing stamps, widget state, a print split into chunks) is tidied back to the stored bytes."""
    import platform

    stored = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
    nb = nbformat.reads(stored, as_version=4)
    nb.metadata["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                    "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                                    "pygments_lexer": "ipython3", "version": platform.python_version()}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["execution"] = {"iopub.execute_input": "2026-12-01T00:00:00.000000Z"}
            streams = [o for o in cell.outputs if o.output_type == "stream" and len(o.text) > 1]
            if streams:  # the kernel flushes a print at random points
                out = streams[0]
                i = cell.outputs.index(out)
                cell.outputs[i:i + 1] = [nbformat.v4.new_output("stream", name=out.name, text=out.text[:1]),
                                         nbformat.v4.new_output("stream", name=out.name, text=out.text[1:])]
    assert outputs.text_of(outputs.normalise(nb)) == stored, f"make outputs would change {name}: see tools/outputs.py normalise"


def test_cells_run_out_of_order_are_caught_before_a_commit(tmp_path, capsys):
    """JupyterLab keeps the execution counts of cells run in any order; nbval and the tests want a top-to-bottom run.
    The hook and --check say so, with the command that fixes it, and leave the outputs alone."""
    path = tmp_path / "02_cross_entropy.ipynb"
    data = json.loads((ROOT / "notebooks" / "02_cross_entropy.ipynb").read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    code[1]["execution_count"], code[2]["execution_count"] = code[2]["execution_count"], code[1]["execution_count"]
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    before = path.read_bytes()
    assert outputs.main(["--check", str(path)]) == 1
    assert "ran out of order" in capsys.readouterr().err
    assert outputs.main(["--normalise-only", str(path)]) == 1
    assert f"make outputs NB={path}" in capsys.readouterr().err
    assert path.read_bytes() == before, "tidying must not renumber or touch outputs"


def test_a_mistyped_notebook_is_one_line_and_nothing_runs(capsys):
    """`make outputs NB=notebooks/02_cross_entropy.ipnb`: one line that names it and the likely notebook, exit 2."""
    assert outputs.main(["notebooks/02_cross_entropy.ipnb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "02_cross_entropy.ipnb does not exist; did you mean NB=notebooks/02_cross_entropy.ipynb?" in err
    assert outputs.main(["--check", str(ROOT / "README.md")]) == 2
    err = capsys.readouterr().err
    assert "README.md is not a notebook (.ipynb)" in err and "the notebooks are notebooks/NN_topic.ipynb" in err
