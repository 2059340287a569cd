"""The instructor's plan (tools/course_plan.py, plan.html in the instructor edition): every exercise of every
notebook is mapped to the objectives it practises (tools/course_plan_data.py), with numbers that are objectives of
its notebook; prerequisites are earlier notebooks; times are estimates from the notebook's own text."""

import nbformat
import pytest

import course_plan  # tools/course_plan.py (pyproject.toml puts tools/ on the path)
import handout
from course_plan_data import PRACTISES

NOTEBOOKS = handout.course_notebooks()


def test_every_notebook_has_its_exercises_mapped():
    assert list(PRACTISES) == [p.stem for p in NOTEBOOKS], \
        "tools/course_plan_data.py's PRACTISES lists every notebook by its file name, in order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_each_exercise_practises_objectives_of_its_notebook(path):
    nb = nbformat.read(path, as_version=4)
    names, n_goals = course_plan.exercises(nb), len(course_plan.goals(nb))
    assert n_goals >= 3 and names, "a notebook has objectives (What you will learn) and exercises"
    assert list(PRACTISES[path.stem]) == names, (
        f"PRACTISES['{path.stem}'] in tools/course_plan_data.py must list the exercises' checkers in order: {names}")
    for name, numbers in PRACTISES[path.stem].items():
        assert numbers and all(1 <= n <= n_goals for n in numbers), \
            f"{name} practises objectives {numbers}, but {path.name} has objectives 1-{n_goals}"
    minutes, words, n_code, n_exercises = course_plan.estimate_minutes(nb)
    assert minutes % 5 == 0 and minutes >= n_exercises * course_plan.EXERCISE_MINUTES and words > 500
    assert all(n < int(path.stem[:2]) for n in course_plan.prerequisites(nb, int(path.stem[:2])))


def test_prerequisites_are_found_in_the_text():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "As in notebook 02, and (01, 03); see [trap 5](10_trap_gallery.ipynb#Trap) and notebook 12.")])
    assert course_plan.prerequisites(nb, 11) == [1, 2, 3, 10]


def test_the_plan_page_names_every_objective():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    page = course_plan.plan_html(NOTEBOOKS, markdown2html_mistune, "mathjax/MathJax.js")
    n_goals = sum(len(course_plan.goals(nbformat.read(p, as_version=4))) for p in NOTEBOOKS)
    assert page.count("</td></tr>") == n_goals and page.count("<section") == len(NOTEBOOKS)
    assert "exercise 1 (<code>check_" in page and "minutes</strong> (an estimate" in page
