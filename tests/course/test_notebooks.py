"""The notebooks as files: structure, stored outputs, the seeds' numbers, and proof that nbval really checks them.

nbval itself (in `make test`) re-executes every notebook and compares each cell's output with the stored one.
These tests check what nbval cannot: that the stored outputs are complete, clean and hold what the course promises.
"""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [nb.stem for nb in NOTEBOOKS]

# Every number the two seed tutorials print, and the notebook whose stored outputs must show it.
SEED_OUTPUTS = {
    "01_softmax": [
        "Softmax of [2.  1.  0.1] is [0.65900114 0.24243297 0.09856589]",
        "Softmax of tensor([2.0000, 1.0000, 0.1000]) is tensor([0.6590, 0.2424, 0.0986])",
    ],
    "02_cross_entropy": [
        "Loss1 numpy: 0.35667494393873245", "Loss2 numpy: 2.3025850929940455", "(0.3567)", "(2.3026)",
        "Loss1 torch: 0.4170299470424652", "Loss2 torch: 1.840616226196289", "(0.4170)", "(1.8406)",
        "Prediction1 torch: 0", "Prediction2 torch: 1", "tensor([0])", "tensor([1])",
    ],
    "03_batching": [
        "Batch Loss1: 0.2834", "Batch Loss2: 1.6418",
        "Actual class: tensor([2, 0, 1]), Y_pred1: tensor([2, 0, 1]), Y_pred2: tensor([0, 2, 0])",
        "loss1 torch: 0.3018", "loss2 torch: 1.6242", "tensor([2, 0, 1])\ntensor([0, 2, 1])",
    ],
}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "data" in out:
            parts.append("".join(out["data"].get("text/plain", "")))
    return "".join(parts)


def test_the_course_has_its_notebooks():
    assert [nb.stem for nb in NOTEBOOKS][:5] == ["00_tools", "01_softmax", "02_cross_entropy", "03_batching", "04_binary_vs_multiclass"]


def cell_name(cell):
    """How every message names a cell: the [n] JupyterLab shows after a top-to-bottom run, and its id."""
    if cell["cell_type"] == "code":
        return f"cell [{cell.get('execution_count')}] (id {cell.get('id')})"
    return f"the markdown cell with id {cell.get('id')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_outputs_are_complete_and_clean(path):
    nb = load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "run top to bottom: make outputs"
    for cell in code:
        kinds = [(o["output_type"], o.get("name")) for o in cell["outputs"]]
        assert all(a != b or a[0] != "stream" for a, b in zip(kinds, kinds[1:])), "split stream chunks: use make outputs"
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{cell_name(cell)} stores an error output: fix the cell, then make outputs"
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), \
                f"{cell_name(cell)} stores a live-widget output (its state is not stored): store outputs with make outputs"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"{cell_name(cell)} stores stderr output (a warning?): silence or fix its cause"
        text = output_text(cell)
        assert "np.float" not in text, f"{cell_name(cell)}: NumPy 2 scalar repr in an output: format numbers with an f-string"
        assert "<Figure size" not in text, f"{cell_name(cell)}: show plots with softmax_ce.plotting.show(fig)"
        assert not re.search(r"0x[0-9a-f]{6,}", text), f"{cell_name(cell)}: a memory address in an output changes every run"
    assert any("image/png" in out.get("data", {}) for c in code for out in c["outputs"]), (
        "every notebook shows at least one plot (softmax_ce.plotting.show(fig)), stored by make outputs")
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "kernel python3: python tools/outputs.py --normalise-only"
    assert "version" not in nb["metadata"]["language_info"], "metadata not normalised: python tools/outputs.py --normalise-only"
    assert "widgets" not in nb["metadata"] and all("execution" not in c["metadata"] for c in nb["cells"]), (
        "widget state or timing stamps stored: python tools/outputs.py --normalise-only (the pre-commit hook does it)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_is_described(path):
    """Accessibility (WCAG 2.1 AA, text alternatives): every stored figure carries the description written where it
    is made, show(fig, alt="..."), as its alt text (the handout's pages and PDF use it) and as its text twin; every
    markdown image has its alt text too."""
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            for alt in re.findall(r"!\[([^\]]*)\]\(", "".join(cell["source"])):
                assert len(alt.split()) >= 3, f"{cell_name(cell)}: an image whose alt text says too little: ![{alt}](...)"
            continue
        for out in cell["outputs"]:
            if "image/png" not in out.get("data", {}):
                continue
            alt = out.get("metadata", {}).get("image/png", {}).get("alt", "")
            assert len(alt.split()) >= 6, (f"{cell_name(cell)} shows a figure without a real description: draw it with "
                                           f"show(fig, alt=\"what it shows and what to see in it\"), then make outputs")
            assert "".join(out["data"].get("text/plain", "")) == f"Figure: {alt}", \
                f"{cell_name(cell)}: the figure's text twin is not its description: make outputs NB={path.as_posix()}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_structure_title_goals_exercises_solutions(path):
    cells = load(path)["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith(f"# {path.stem[:2]} · "), (
        f"the first cell is the title, '# {path.stem[:2]} · Title' (the number of the file name, a middle dot U+00B7)")
    assert "**What you will learn**" in first, "the title cell lists '**What you will learn**' as bullets"
    sources = ["".join(c["source"]) for c in cells]
    assert any("## Exercises" in s for s in sources), "the exercises come under a '## Exercises' heading"
    exercises = [i for i, s in enumerate(sources) if cells[i]["cell_type"] == "code" and "passed = check_" in s]
    most = 8 if path.stem == "12_modern_losses" else 4  # notebook 12: one exercise per technique, eight techniques
    assert 2 <= len(exercises) <= most, (f"{len(exercises)} exercises found: a notebook has 2 to {most}, each a code cell "
                                         "with `passed = check_x(...)`, followed by its solution cell (README, 'Adding a notebook')")
    for i in exercises:
        solution = cells[i + 1]
        assert "solution" in solution["metadata"].get("tags", []), f"{cell_name(solution)}, after the exercise in {cell_name(cells[i])} should be the tagged solution"
        assert "assert check_" in "".join(solution["source"]), f"{cell_name(solution)}, after the exercise in {cell_name(cells[i])}: a solution ends with `assert check_x(...)`"
        assert solution["metadata"].get("jupyter") == {"source_hidden": True, "outputs_hidden": True}, (
            f"{cell_name(solution)}, after the exercise in {cell_name(cells[i])}: a solution is folded until the student opens it (python tools/outputs.py --normalise-only)")
        assert "".join(solution["source"]).startswith("# Solution: "), (
            f"{cell_name(solution)}, after the exercise in {cell_name(cells[i])}: JupyterLab shows a folded cell's first line: start solutions with a '# Solution: ' comment")
        assert output_text(cells[i]).splitlines()[-1].startswith("Not yet: "), f"{cell_name(cells[i])}: an unsolved exercise's checker must say 'Not yet: ' and what is missing"
        assert output_text(solution).splitlines()[-1].startswith("Correct! "), f"{cell_name(solution)}, after the exercise in {cell_name(cells[i])}: the solution's checker must say Correct!"
    folded = [cell_name(c) for k, c in enumerate(cells) if "jupyter" in c["metadata"] and k - 1 not in exercises]
    assert not folded, f"only solutions are folded, not {folded}: python tools/outputs.py --normalise-only unfolds them"
    assert any("Each solution is folded away" in s for s in sources), "say under '## Exercises' that solutions are folded"
    for s in sources:
        if re.search(r"\*\*Exercise \d\.\*\*", s):
            assert "*Practises: " in s, f"name the 'What you will learn' item the exercise practises: {s[:60]!r}"
    assert any("$$" in s for s in sources), "formulas in LaTeX"


@pytest.mark.parametrize("stem", SEED_OUTPUTS)
def test_the_seed_tutorials_numbers_stand_in_the_outputs(stem):
    nb = load(ROOT / "notebooks" / f"{stem}.ipynb")
    text = "\n".join(output_text(c) for c in nb["cells"] if c["cell_type"] == "code")
    missing = [s for s in SEED_OUTPUTS[stem] if s not in text]
    assert not missing, f"{stem} no longer prints {missing}"


def test_nbval_fails_when_a_stored_output_changes(pytester):
    """The regression check is real: in one nbval run, a copy with one changed digit in a stored output fails and
    the untouched copy passes. The copies hold 01's seed softmax cell with its stored output, after a NumPy import
    (nbval runs all of 01 in `make test` anyway)."""
    nb = load(ROOT / "notebooks" / "01_softmax.ipynb")
    seed_cell = next(c for c in nb["cells"] if "0.65900114 0.24243297" in output_text(c))
    nb["cells"] = [{"cell_type": "code", "execution_count": 1, "id": "imports", "metadata": {}, "outputs": [],
                    "source": ["import numpy as np"]}, {**seed_cell, "execution_count": 2}]
    original = json.dumps(nb, indent=1, ensure_ascii=False)
    (pytester.path / "a_untouched.ipynb").write_text(original, encoding="utf-8")
    (pytester.path / "b_changed.ipynb").write_text(original.replace("0.65900114 0.24243297", "0.65900115 0.24243297", 1), encoding="utf-8")
    result = pytester.runpytest_inprocess("--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-p", "no:xdist", "-rf",
                                          "a_untouched.ipynb", "b_changed.ipynb")
    stdout = result.stdout.str()
    assert result.ret == 1, stdout[-3000:]
    failed = re.findall(r"^FAILED (\S+)", stdout, flags=re.M)
    assert len(failed) == 1 and failed[0].startswith("b_changed.ipynb::"), stdout[-3000:]
    result.assert_outcomes(failed=1, passed=2 * len(nb["cells"]) - 1)
    assert "0.65900115" in stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_referenced_image_and_link_exists(path):
    sources = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    refs = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", sources) + re.findall(r"<img[^>]+src=\"([^\"]+)\"", sources)
    local = [r for r in refs if not re.match(r"[a-z]+:", r) and not r.startswith("#")]
    missing = [r for r in local if not (path.parent / r.split("#")[0]).exists()]
    assert not missing, f"{path.name} references missing files: {missing}"


def test_readme_table_lists_exactly_the_notebooks_in_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\|\s*\[(\d\d)\]\(notebooks/(\d\d_\w+\.ipynb)\)", readme, flags=re.M)
    names, files = [name for _, name in listed], [p.name for p in NOTEBOOKS]
    for name in files:
        assert name in names, (f"add a row for {name} to the README's table of notebooks, in order: "
                               f"| [{name[:2]}](notebooks/{name}) | title | what you learn |")
    assert names == files, f"the README's table must list exactly the notebooks, in order: {files}; it lists {names}"
    wrong = [(num, name) for num, name in listed if num != name[:2]]
    assert not wrong, f"each README row's link text is its file's number: {wrong}"


def test_suite_time_benchmark_runs_the_command_make_test_runs():
    """benchmarks/suite_time.py must time what `make test` runs (tools/course.py's TEST_COMMANDS), or its figures
    mean nothing; and the README must show that command."""
    import course
    import suite_time
    pytest_command = next(c for c in course.TEST_COMMANDS if c[:2] == ["-m", "pytest"])
    assert pytest_command[2:] == [*suite_time.PARALLEL, *suite_time.NBVAL, "tests", "notebooks"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f".venv/bin/python {' '.join(pytest_command)}" in readme, "the README must show the pytest command make test runs"
    assert suite_time.file_of({"classname": "notebooks.01_softmax.ipynb"}) == "notebooks/01_softmax.ipynb"
    assert suite_time.file_of({"classname": "tests.e2e.test_browser_lab"}) == "tests/e2e/test_browser_lab.py"
    assert suite_time.file_of({"classname": "tests.course.test_checks.TestSomething"}) == "tests/course/test_checks.py"


def test_nbval_fails_when_a_figure_changes(pytester):
    """Figures are compared too (the root conftest.py, within an RMS tolerance): in one nbval run, a notebook whose
    plot code no longer draws its stored figure fails, and the same notebook with the right code passes."""
    import base64

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from softmax_ce.plotting import COURSE_STYLE, png_bytes

    def plot_source(ys):
        return ("import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
                "from softmax_ce.plotting import show, use_course_style\nuse_course_style()\n"
                f"fig, ax = plt.subplots(figsize=(2, 2), dpi=50)\nax.plot([0, 1], {ys})\nshow(fig, alt='a line')")

    with matplotlib.rc_context(COURSE_STYLE):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
        ax.plot([0, 1], [0, 1])
        stored = base64.b64encode(png_bytes(fig)).decode("ascii")
        plt.close(fig)
    for name, ys in (("a_same.ipynb", [0, 1]), ("b_changed.ipynb", [1, 0])):
        nb = {"cells": [{"cell_type": "code", "execution_count": 1, "id": "plot", "metadata": {}, "source": plot_source(ys),
                         "outputs": [{"output_type": "display_data", "metadata": {"image/png": {"alt": "a line"}},
                                      "data": {"image/png": stored, "text/plain": "Figure: a line"}}]}],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        (pytester.path / name).write_text(json.dumps(nb), encoding="utf-8")
    result = pytester.runpytest_inprocess("--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-p", "no:xdist", "-rf",
                                          "a_same.ipynb", "b_changed.ipynb")
    stdout = result.stdout.str()
    assert re.findall(r"^FAILED (\S+)", stdout, flags=re.M) == ["b_changed.ipynb::Cell"], stdout[-3000:]
    assert "figure 1 of the cell differs by an RMS" in stdout and "make outputs" in stdout


def test_the_figure_tolerance_forgives_rendering_noise_only(request):
    """Antialiasing noise passes; a moved line, a recoloured patch of a few pixels or a resized figure does not."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    root_conftest = request.config.pluginmanager.get_plugin(str(ROOT / "conftest.py"))

    def png(array):
        buf = io.BytesIO()
        Image.fromarray(array.astype(np.uint8)).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode("ascii")

    base = np.full((100, 100, 3), 255)
    base[50, :, :] = 0  # a line
    noisy = base.copy()
    noisy[50, :10, :] = 40  # antialiasing at one end
    moved = np.full((100, 100, 3), 255)
    moved[60, :, :] = 0
    recoloured = base.copy()
    recoloured[20:23, 20:22, :] = (214, 39, 40)  # six pixels of a marker in another colour: RMS 0.6, but a change
    assert root_conftest.figure_change(png(base), png(noisy)) is None
    assert "differs by an RMS of" in root_conftest.figure_change(png(base), png(moved))
    assert "6 pixels clearly changed" in root_conftest.figure_change(png(base), png(recoloured))
    assert "has another size" in root_conftest.figure_change(png(base), png(base[:90]))


def test_full_precision_floats_are_compared_to_seven_digits(pytester, request):
    """02 prints the seed tutorials' floats in full (repr) on purpose; another CPU may change their last digits. nbval
    compares such numbers (9+ decimals) to 7 significant digits, and fixed-precision output exactly."""
    root_conftest = request.config.pluginmanager.get_plugin(str(ROOT / "conftest.py"))
    assert root_conftest.seven_digits("Loss1 numpy: 0.35667494393873245  (0.3567)") == "Loss1 numpy: 0.3566749  (0.3567)"
    assert root_conftest.seven_digits("v1.123456789012 x2.5 0.123") == "v1.123456789012 x2.5 0.123"  # not a number alone

    def notebook(printed, stored):
        return {"cells": [{"cell_type": "code", "execution_count": 1, "id": "c", "metadata": {}, "source": f"print({printed!r})",
                           "outputs": [{"output_type": "stream", "name": "stdout", "text": stored + "\n"}]}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}

    stored = "Loss1 numpy: 0.35667494393873245  (0.3567)"
    cases = {"a_last_digits.ipynb": "Loss1 numpy: 0.35667494393873251  (0.3567)",
             "b_seventh_digit.ipynb": "Loss1 numpy: 0.35667594393873245  (0.3567)",
             "c_fixed_precision.ipynb": "Loss1 numpy: 0.35667494393873245  (0.3568)"}
    for name, printed in cases.items():
        (pytester.path / name).write_text(json.dumps(notebook(printed, stored)), encoding="utf-8")
    result = pytester.runpytest_inprocess("--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-p", "no:xdist", "-rf",
                                          *cases)
    failed = re.findall(r"^FAILED (\S+)", result.stdout.str(), flags=re.M)
    assert failed == ["b_seventh_digit.ipynb::Cell", "c_fixed_precision.ipynb::Cell"], result.stdout.str()[-3000:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_cell_or_text_talks_about_the_tests(path):
    """Readers see the course, not its test harness: nbval's markers are cell tags, and the prose never explains
    something by what the tests do."""
    for cell in load(path)["cells"]:
        source = "".join(cell["source"])
        assert "NBVAL" not in source, (f"{cell_name(cell)} shows a test marker: tag the cell nbval-ignore-output "
                                       "(JupyterLab's property inspector, or the cell metadata's tags) instead")
        if cell["cell_type"] == "markdown":
            found = re.findall(r"\bnbval\b|for the tests? to\b|the tests? (?:compare|check)s?\b", source, flags=re.I)
            assert not found, f"{cell_name(cell)} talks about the tests ({found[0]!r}): explain it for the reader instead"
