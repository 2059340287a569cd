"""The notebooks a class receives (handout/student/notebooks/): they run end to end in a fresh kernel, and every
unsolved exercise's checker says what is missing ("Not yet: ...") instead of crashing the notebook."""

import pathlib
import sys

import nbclient
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import handout  # noqa: E402

NOTEBOOKS = handout.course_notebooks()


@pytest.fixture(scope="module")
def student_notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student") / "notebooks"
    handout.copy_student_notebooks([(p, handout.student_copy(nbformat.read(p, as_version=4))) for p in NOTEBOOKS], folder)
    return folder


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_student_notebook_runs_and_its_exercises_say_not_yet(student_notebooks, name):
    nb = nbformat.read(student_notebooks / name, as_version=4)
    assert not any(handout.is_solution(c) for c in nb.cells)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(student_notebooks)}}).execute()  # raises on any error
    exercises = [c for c in nb.cells if handout.is_exercise(c)]
    assert len(exercises) >= 2
    for cell in exercises:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert text.strip().splitlines()[-1].startswith("Not yet: "), text
