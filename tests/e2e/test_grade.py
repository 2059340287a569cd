"""tools/grade.py, `make grade SUBMISSIONS=DIR`, run for real on submissions made from the student copies of
notebooks 01 and 02 (tools/handout.py's student_copy): right answers (from the solution cells), wrong ones, a crash,
a hang, tampering, a missing import, a file that is no notebook, stray files, both layouts. One grading call grades
them all (a module fixture, about 40 s on 2 quiet cores); the other tests are quick and need no kernel."""

import csv
import hashlib
import json
import os
import pathlib
import re
import subprocess
import tempfile
import time

import nbformat
import pytest

import grade  # tools/grade.py (pyproject.toml puts tools/ on the path)
from handout import is_exercise, is_solution, student_copy

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
TIMEOUT = 30  # --timeout of the big call: the hang costs this much; a healthy 01 runs its cells in 3-13 s (loaded)


# ----------------------------------------------------------------------------- building submissions


def course(name):
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


def right_answers(name):
    """{checker: the exercise cell with the solution's code}, from the course notebook's solution cells."""
    nb, answers = course(name), {}
    for cell, after in zip(nb.cells, nb.cells[1:]):
        if is_exercise(cell) and is_solution(after):
            call = next(line for line in cell.source.splitlines() if line.startswith("passed = check_"))
            body = [line for line in after.source.splitlines() if not line.startswith(("# Solution:", "assert check_"))]
            answers[call.split("(")[0].removeprefix("passed = ")] = "\n".join(body).rstrip() + "\n\n\n" + call
    return answers


def submission(name, answers=None, before=None, after=None, first_line=None):
    """A student copy of course notebook ``name`` with exercise cells replaced ({checker: source}), cells inserted
    before or after an exercise cell ({checker: source}), and ``first_line`` put above the imports cell's code."""
    nb = student_copy(course(name))
    cells = []
    for cell in nb.cells:
        checker = re.search(r"passed = (check_\w+)\(", cell.source).group(1) if is_exercise(cell) else None
        if checker in (before or {}):
            cells.append(nbformat.v4.new_code_cell(before[checker]))
        if checker in (answers or {}):
            cell.source = answers[checker]
        cells.append(cell)
        if checker in (after or {}):
            cells.append(nbformat.v4.new_code_cell(after[checker]))
    if first_line:
        first = next(c for c in cells if c.cell_type == "code")
        first.source = first_line + "\n" + first.source
    nb.cells = cells
    return nbformat.writes(nb)


def with_call(body, checker, arg):
    return f"{body}\n\n\npassed = {checker}({arg})"


WRONG_AXIS = with_call("def softmax_rows(Z):\n    e = np.exp(Z - Z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)",
                       "check_softmax_rows", "softmax_rows")
TIMES_T = with_call("def softmax_temperature(z, T):\n    return npF.softmax(np.asarray(z) * T, dim=-1)", "check_temperature", "softmax_temperature")
CRASH = "1 / 0  # the cell raises before the function is defined\n\n" + TIMES_T
TAMPER_MEMORY = """import softmax_ce.checks._harness as harness
import softmax_ce.checks.nb01_softmax as nb01

harness._same = nb01._same = lambda *args, **kwargs: True
nb01.check_softmax_rows = nb01.check_temperature = nb01.check_logits_from_probs = lambda fn=None: True
np.allclose = lambda *args, **kwargs: True"""
TAMPER_DISK = """with open("softmax_ce/checks/nb01_softmax.py", "w") as f:
    f.write("check_softmax_rows = check_temperature = check_logits_from_probs = lambda fn=None: True\\n")
with open("../images/softmax_pipeline.png", "wb") as f:
    f.write(b"not a png")"""


def tampered():
    """Wrong answers everywhere, and every trick: the call deleted, check_x redefined, the checker module and numpy
    patched in memory, the package's file overwritten on disk, "Correct!" printed by hand."""
    return submission("01_softmax", answers={
        "check_softmax_rows": "def softmax_rows(Z):\n    return Z\n\n\npassed = True  # the checker call is gone",
        "check_temperature": "def softmax_temperature(z, T):\n    return z\n\n\ncheck_temperature = lambda fn: True\n"
                             "passed = check_temperature(softmax_temperature)",
        "check_logits_from_probs": with_call("def logits_from_probs(p):\n    return np.exp(p)", "check_logits_from_probs",
                                             "logits_from_probs") + '\nprint("Correct! trust me")',
    }, before={"check_softmax_rows": TAMPER_MEMORY + "\n" + TAMPER_DISK})


def build_submissions(folder):
    """The submissions of the big call: {relative path: bytes}. abe sorts first so that the hang starts at once."""
    right01, right02 = right_answers("01_softmax"), right_answers("02_cross_entropy")
    files = {
        "abe_01_softmax.ipynb": submission("01_softmax", answers=right01, after={"check_softmax_rows": "while True:\n    pass"}),
        "ada_lovelace_01_softmax.ipynb": submission("01_softmax", answers=right01),
        "bob_01_softmax.ipynb": submission("01_softmax", answers={**right01, "check_softmax_rows": WRONG_AXIS, "check_temperature": CRASH}),
        "eve_01_softmax.ipynb": tampered(),
        "fay_01_softmax.ipynb": submission("01_softmax", answers=right01, first_line="import not_a_real_module_xyz"),
        "hal_99_unknown.ipynb": submission("01_softmax"),
        "notes.txt": "grading notes of the teaching assistant\n",
        "ivy/01_softmax.ipynb": '{"cells": [{"cell_type": "code", "source": "print(1)"',  # cut off: no notebook
        "ivy/02_cross_entropy.ipynb": submission("02_cross_entropy", answers=right02),
        "ivy/draft.txt": "a draft\n",
    }
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return {relative: (folder / relative).read_bytes() for relative in files}


def hashes(*folders):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def our_temporary_folders():
    return {p.name for p in pathlib.Path(tempfile.gettempdir()).glob("grade-*-*")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One `tools/grade.py DIR --timeout 30` over every submission: what it printed, wrote and left unchanged."""
    folder = tmp_path_factory.mktemp("submissions")
    submitted = build_submissions(folder)
    course_before, temporary_before = hashes(ROOT / "notebooks" / "softmax_ce", ROOT / "images"), our_temporary_folders()
    started = time.monotonic()
    proc = subprocess.run([str(PYTHON), str(ROOT / "tools" / "grade.py"), str(folder), "--timeout", str(TIMEOUT), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    seconds = time.monotonic() - started
    print(f"grading call: {seconds:.1f} s")
    assert proc.returncode == 0, f"grading must succeed however bad the submissions are:\n{proc.stdout}\n{proc.stderr}"
    with open(folder / "grades.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    return {"folder": folder, "proc": proc, "seconds": seconds, "rows": rows, "columns": reader.fieldnames,
            "by": {(r["student"], r["notebook"], r["exercise"]): r for r in rows},
            "html": (folder / "grades.html").read_text(encoding="utf-8"), "submitted": submitted,
            "course_before": course_before, "course_after": hashes(ROOT / "notebooks" / "softmax_ce", ROOT / "images"),
            "temporary_new": our_temporary_folders() - temporary_before}


def verdicts(graded, student, notebook="01_softmax"):
    return [graded["by"][(student, notebook, f"{notebook[:2]}.{k}")]["passed"] for k in (1, 2, 3)]


def row(graded, student, exercise, notebook="01_softmax"):
    return graded["by"][(student, notebook, exercise)]


# ----------------------------------------------------------------------------- the big call


def test_grades_csv_has_one_row_per_student_and_exercise(graded):
    assert graded["columns"][:7] == ["student", "notebook", "exercise", "checker", "passed", "message", "notes"], \
        f"grades.csv must start with the documented columns, got {graded['columns']}"
    handed_in = {(r["student"], r["notebook"]) for r in graded["rows"]}
    want = {(s, "01_softmax") for s in ["abe", "ada_lovelace", "bob", "eve", "fay", "ivy"]} | {("ivy", "02_cross_entropy")}
    assert handed_in == want, f"every submission (both layouts, names with underscores) gets rows, nothing else: {handed_in ^ want}"
    assert len(graded["rows"]) == 3 * len(want), "every exercise of the course notebook gets a row, for every submission"
    assert [r["checker"] for r in graded["rows"] if r["student"] == "ada_lovelace"] == \
        ["check_softmax_rows", "check_temperature", "check_logits_from_probs"], "exercises come from the course notebook, in order"
    assert {r["passed"] for r in graded["rows"]} == {"True", "False"}, "passed is written True or False"


def test_right_answers_pass_in_both_layouts(graded):
    for student, notebook in [("ada_lovelace", "01_softmax"), ("ivy", "02_cross_entropy")]:
        mine = [r for r in graded["rows"] if (r["student"], r["notebook"]) == (student, notebook)]
        assert [r["passed"] for r in mine] == ["True"] * 3, f"the solutions must pass ({student}, {notebook}): {mine}"
        assert all(r["message"].startswith("Correct!") and not r["notes"] for r in mine), \
            f"a right, honest submission gets the checker's message and no notes ({student}, {notebook}): {mine}"


def test_wrong_answers_fail_with_the_checkers_message_and_a_crash_is_recorded(graded):
    assert verdicts(graded, "bob") == ["False", "False", "True"], "each exercise is graded on its own"
    assert "each column sums to 1" in row(graded, "bob", "01.1")["message"], "a wrong answer gets the course checker's own message"
    crash = row(graded, "bob", "01.2")["message"]
    assert "ZeroDivisionError" in crash and "not defined" in crash and re.search(r"cell \d+", crash), \
        f"a cell that raises is named, with its error, in the exercise it broke: {crash!r}"


def test_a_hanging_notebook_is_stopped_and_the_rest_still_graded(graded):
    assert verdicts(graded, "abe") == ["True", "False", "False"], "the exercises that ran before the hang are still graded"
    message = row(graded, "abe", "01.2")["message"]
    assert f"timed out after {TIMEOUT} s" in message and "while True" in message, f"the time limit and the cell are named: {message!r}"
    assert graded["seconds"] < 3 * TIMEOUT + 120, f"the hang must not hold up the other submissions ({graded['seconds']:.0f} s)"


def test_tampering_does_not_help_and_is_noted(graded):
    assert verdicts(graded, "eve") == ["False"] * 3, "no trick may turn a wrong answer into a pass"
    assert "the checker call `passed = check_softmax_rows(softmax_rows)` was removed or changed" in row(graded, "eve", "01.1")["message"], \
        "a deleted checker call is reported"
    assert "check_temperature in the notebook is not the course's checker" in row(graded, "eve", "01.2")["notes"], \
        "a redefined check_x is noted"
    assert row(graded, "eve", "01.3")["message"].startswith("Not yet: you applied exp"), \
        "a hand-printed 'Correct!' changes nothing: the verdict is the course checker's"
    notes = row(graded, "eve", "01.1")["notes"]
    for seen in ["numpy.allclose", "softmax_ce.checks._harness._same", "softmax_ce.checks.nb01_softmax.check_softmax_rows",
                 "softmax_ce/checks/nb01_softmax.py", "images/softmax_pipeline.png"]:
        assert seen in notes, f"the grader notes what the notebook replaced ({seen}): {notes!r}"


def test_a_missing_import_and_a_broken_file_are_reported(graded):
    assert verdicts(graded, "fay") == ["False"] * 3, "answers that cannot run (np never imported) do not pass"
    assert "import of not_a_real_module_xyz failed" in row(graded, "fay", "01.1")["message"], "the failed import is named"
    assert all(row(graded, "ivy", f"01.{k}")["message"].startswith("not a notebook (invalid JSON") for k in (1, 2, 3)), \
        "a file that is not a notebook gets its rows, saying so"


def test_other_files_are_reported_not_skipped(graded):
    out = graded["proc"].stdout
    for name in ["notes.txt", "hal_99_unknown.ipynb", "ivy/draft.txt"]:
        assert f"not graded: {name}" in out, f"{name} must be reported as not graded:\n{out}"
        assert name in graded["html"], f"{name} must be listed on the page too"
    summary = [line for line in out.splitlines() if re.match(r"\S+ +\d+/\d+ exercises passed", line)]
    assert [line.split()[0] for line in summary] == ["abe", "ada_lovelace", "bob", "eve", "fay", "ivy"], \
        f"one summary line per student, in order:\n{out}"
    assert re.search(r"^ivy +3/6 exercises passed \(01_softmax 0/3, 02_cross_entropy 3/3\)$", out, re.M), \
        f"a student's line counts all their notebooks:\n{out}"


def test_grades_html_is_a_self_contained_accessible_table(graded):
    page = graded["html"]
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page, "a full page with its language"
    assert '<th scope="col"' in page and '<th scope="row">ada_lovelace</th>' in page and 'scope="colgroup"' in page, \
        "the table has column, row and group headers"
    assert page.count('<tr><th scope="row">') == 6, "one table row per student"
    assert "✓" in page and "✗" in page and '<span class="sr">not passed' in page, "marks, with words for screen readers"
    assert 'title="Not yet: rows should sum to 1' in page or "each column sums to 1" in page, "the messages are on the page"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing is loaded from the network"


def test_course_files_and_submissions_are_unchanged(graded):
    changed = [p for p in graded["course_before"] if graded["course_after"].get(p) != graded["course_before"][p]]
    assert not changed, f"grading (and a notebook writing to its copy of the course) must not change the course: {changed}"
    for relative, data in graded["submitted"].items():
        assert (graded["folder"] / relative).read_bytes() == data, f"the submission {relative} must stay byte-identical"
    made = {p.name for p in graded["folder"].iterdir()} - {pathlib.PurePath(r).parts[0] for r in graded["submitted"]}
    assert made == {"grades.csv", "grades.html", ".grades-made-by-tools-grade.json"}, f"the tool adds its outputs only: {made}"
    assert not graded["temporary_new"], f"the temporary folders are removed: {graded['temporary_new']}"


# ----------------------------------------------------------------------------- quick cases, no kernel


def run_main(capsys, *args):
    code = grade.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", ["missing", "file", "empty"])
def test_bad_folders_are_refused_in_one_line(tmp_path, capsys, case):
    target = tmp_path / "submissions"
    if case == "file":
        target.write_text("not a folder")
    elif case == "empty":
        target.mkdir()
    code, out, err = run_main(capsys, target)
    assert code == 2, f"bad use ({case}) exits with 2"
    assert len(err.strip().splitlines()) == 1 and err.startswith("grade: "), f"one clear line ({case}): {err!r}"
    assert {"missing": "does not exist", "file": "is not a folder", "empty": "is empty"}[case] in err, f"the line says what is wrong: {err!r}"


def test_a_foreign_grades_csv_is_refused_and_kept(tmp_path, capsys):
    (tmp_path / "gus_01_softmax.ipynb").write_text("{", encoding="utf-8")
    (tmp_path / "grades.csv").write_text("my own gradebook\n", encoding="utf-8")
    code, _, err = run_main(capsys, tmp_path)
    assert code == 2 and "was not written by tools/grade.py" in err and len(err.strip().splitlines()) == 1, \
        f"an existing grades.csv the tool did not write is refused in one line: {err!r}"
    assert (tmp_path / "grades.csv").read_text(encoding="utf-8") == "my own gradebook\n", "the instructor's file is kept"
    assert not (tmp_path / "grades.html").exists(), "nothing is written when the tool refuses"


def test_its_own_outputs_are_replaced_but_not_once_edited(tmp_path, capsys):
    (tmp_path / "gus_01_softmax.ipynb").write_text("not json", encoding="utf-8")
    assert run_main(capsys, tmp_path)[0] == 0, "a first run writes its outputs"
    assert run_main(capsys, tmp_path)[0] == 0, "a second run replaces the outputs the tool wrote itself"
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert len(rows) == 3 and all(r["passed"] == "False" for r in rows), "the broken file still gets its three rows"
    assert json.loads((tmp_path / ".grades-made-by-tools-grade.json").read_text())["grades.csv"], "the record holds the hash"
    assert not list(tmp_path.glob(".grades.*.tmp")), "no temporary file is left behind"
    with open(tmp_path / "grades.csv", "a", encoding="utf-8") as f:
        f.write("gus,01_softmax,01.1,check_softmax_rows,True,hand-edited,\n")
    code, _, err = run_main(capsys, tmp_path)
    assert code == 2 and "edited since" in err, "a grades.csv edited after the tool wrote it is not overwritten"


def test_a_notebook_handed_in_twice_is_reported_not_graded(tmp_path, capsys):
    (tmp_path / "dan_01_softmax.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "01_softmax.ipynb").write_text("{}", encoding="utf-8")
    assert run_main(capsys, tmp_path)[0] == 0, "a duplicate does not stop the grading"
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert len(rows) == 3 and all("handed in more than once (dan/01_softmax.ipynb and dan_01_softmax.ipynb)" in r["message"]
                                  for r in rows), f"both copies are named in the rows: {rows}"


def test_file_names_find_the_student_and_the_notebook():
    stems = ["01_softmax", "02_cross_entropy", "10_trap_gallery"]
    assert grade.notebook_of("ada_lovelace_01_softmax.ipynb", stems) == ("ada_lovelace", "01_softmax"), "underscores in names"
    assert grade.notebook_of("01_softmax.ipynb", stems) is None, "a course notebook's own name has no student"
    assert grade.notebook_of("bob_03_batching.ipynb", stems) is None, "only course notebooks count"
    assert grade.notebook_of("bob_01_softmax.txt", stems) is None, "only notebooks count"


def test_make_grade_runs_the_tool_on_submissions():
    dry = subprocess.run(["make", "-n", "grade", "SUBMISSIONS=/tmp/somewhere", "GRADE_ARGS=--jobs 1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "MAKEFLAGS": ""})
    assert ".venv/bin/python tools/grade.py /tmp/somewhere --jobs 1" in dry.stdout, f"make grade runs tools/grade.py:\n{dry.stdout}{dry.stderr}"
