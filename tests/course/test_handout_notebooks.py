"""The notebooks a class receives (handout/student/notebooks/: the course's notebooks without solution cells).

- No cell a student keeps uses a name that only a solution cell defines: checked for every notebook from the
  code itself (ast), so it costs no kernel.
- One student notebook runs end to end in a fresh kernel, as a class would run it, and each unsolved exercise's
  checker says what is missing ("Not yet: ...") instead of crashing the notebook. (The instructor notebooks run
  under nbval, and their stored exercise outputs say "Not yet:" too: tests/course/test_notebooks.py.)
"""

import ast
import pathlib

import nbclient
import nbformat
import pytest

import handout  # tools/handout.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]

NOTEBOOKS = handout.course_notebooks()
RUN_END_TO_END = "02_cross_entropy.ipynb"  # one of the quickest


def bound_names(tree):
    """Names a cell binds at any level: assignments, loop and with targets, defs, classes, imports."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def loaded_names(tree):
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def names_from_solutions(nb):
    """[(cell index, names)] of names a kept cell uses whose latest definition is a solution cell's: in the student
    copy such a name is undefined, or still the exercise's stub."""
    solution_defined, problems = set(), []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        if handout.is_solution(cell):
            solution_defined |= bound_names(tree)
            continue
        used = (loaded_names(tree) - bound_names(tree)) & solution_defined
        if used:
            problems.append((i, sorted(used)))
        solution_defined -= bound_names(tree)
    return problems


def test_the_check_sees_a_name_only_a_solution_defines():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def stub(x):\n    raise NotImplementedError"),
        nbformat.v4.new_code_cell("helper = 2\ndef stub(x):\n    return x", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("print(stub(1))"),
        nbformat.v4.new_code_cell("print(helper * 3)"),
        nbformat.v4.new_code_cell("helper = 5\nprint(helper)"),
    ])
    assert names_from_solutions(nb) == [(2, ["stub"]), (3, ["helper"])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_kept_cell_needs_a_solution(path):
    nb = nbformat.read(path, as_version=4)
    assert sum(handout.is_solution(c) for c in nb.cells) >= 2
    assert not names_from_solutions(nb), f"cells a student keeps use names only solutions define: {names_from_solutions(nb)}"


def test_a_student_notebook_runs_and_its_exercises_say_not_yet(tmp_path):
    folder = tmp_path / "notebooks"
    handout.copy_student_notebooks([(p, handout.student_copy(nbformat.read(p, as_version=4))) for p in NOTEBOOKS], folder)
    nb = nbformat.read(folder / RUN_END_TO_END, as_version=4)
    assert not any(handout.is_solution(c) for c in nb.cells)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(folder)}}).execute()  # raises on any error
    exercises = [c for c in nb.cells if handout.is_exercise(c)]
    assert len(exercises) >= 2
    for cell in exercises:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert text.strip().splitlines()[-1].startswith("Not yet: "), text
