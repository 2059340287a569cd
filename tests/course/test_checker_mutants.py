"""Mechanically wrong answers: every solution cell, mutated one site at a time, must be rejected by its checker.

A mutation is a mistake learners make, done by a machine: another axis or dim, keepdims dropped, log10 or log2 for
log, sum for mean and back, min or mean for max, a flipped sign or operator, a constant off by one. Each mutant is
the solution cell with one such change, run after the notebook's import cell; its `assert check_x(...)` line stays,
so a rejected mutant raises AssertionError (killed). A mutant that passes is a hole in the checker, unless it is an
equivalent program (it computes the same thing on every input): those are listed in EQUIVALENT with the reason.
A checker that raises instead of answering fails the test outright (checkers never crash).

`python tests/course/test_checker_mutants.py` prints the kill rate per exercise.
"""

import contextlib
import io
import pathlib
import re
import traceback
import warnings

import nbformat
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

OPERATORS = [  # (name, pattern, replacement)
    ("axis 1->0", r"axis=1\b", "axis=0"), ("axis -1->0", r"axis=-1\b", "axis=0"), ("axis 0->1", r"axis=0\b", "axis=1"),
    ("dim 1->0", r"dim=1\b", "dim=0"), ("dim -1->0", r"dim=-1\b", "dim=0"), ("dim 0->-1", r"dim=0\b", "dim=-1"),
    ("no keepdims", r"keepdims=True", "keepdims=False"), ("no keepdim", r"keepdim=True", "keepdim=False"),
    ("log10", r"\bnp\.log\(", "np.log10("), ("log2", r"\bnp\.log\(", "np.log2("), ("torch log10", r"\btorch\.log\(", "torch.log10("),
    ("log1p->log", r"\bnp\.log1p\(", "np.log("),
    ("mean->sum", r"\.mean\(", ".sum("), ("np mean->sum", r"\bnp\.mean\(", "np.sum("),
    ("sum->mean", r"\.sum\(", ".mean("), ("np sum->mean", r"\bnp\.sum\(", "np.mean("),
    ("max->min", r"\.max\(", ".min("), ("np max->min", r"\bnp\.max\(", "np.min("), ("np max->mean", r"\bnp\.max\(", "np.mean("),
    ("maximum->minimum", r"\bnp\.maximum\(", "np.minimum("), ("abs dropped", r"\bnp\.abs\(", "("),
    ("minus->plus", r" - ", " + "), ("plus->minus", r" \+ ", " - "), ("times->divide", r" \* ", " / "),
    ("divide->times", r" / ", " * "), ("power->times", r" \*\* ", " * "),
    ("sign dropped", r"(?<![\w)\]])-(?=[A-Za-z(])", ""),
    ("argmax->argmin", r"\.argmax\(", ".argmin("), ("argmin->argmax", r"\.argmin\(", ".argmax("), ("float32->float64", r"float32", "float64"),
    ("float32->float16", r"float32", "float16"),
    ("BCEWithLogits->CE", r'"BCEWithLogitsLoss"', '"CrossEntropyLoss"'), ("CE->BCEWithLogits", r'"CrossEntropyLoss"', '"BCEWithLogitsLoss"'),
    ("BCEWithLogits->BCE", r'"BCEWithLogitsLoss"', '"BCELoss"'),
    ("int +1", r"(?<![\w.\[])([1-9])(?![\w.])", None), ("float x2", r"(?<![\w.])(\d+\.\d+)(?![\w.])", None),
]


def constant_plus_one(match):
    return str(int(match.group(1)) + 1)


def float_doubled(match):
    return repr(2 * float(match.group(1)))


def answer_lines(source):
    """Line numbers (0-based) of the answer: the functions and assignments the checker call receives, not a
    solution's demonstration around them."""
    import ast

    tree = ast.parse(source)
    calls = [node.test for node in tree.body if isinstance(node, ast.Assert) and isinstance(node.test, ast.Call)
             and getattr(node.test.func, "id", "").startswith("check_")]
    given = {n.id for call in calls for n in ast.walk(call) if isinstance(n, ast.Name)}
    lines = set()
    for node in tree.body:
        names = {node.name} if isinstance(node, ast.FunctionDef) else \
            {t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)}
        if names & given:
            lines.update(range(node.lineno - 1, node.end_lineno))
    return lines


def mutants(source):
    """[(description, mutated source)]: one change at one site of the answer, never in comments or the checker call."""
    lines = source.splitlines()
    found = []
    answer = answer_lines(source)
    for number, line in enumerate(lines):
        code = line.split("#")[0]
        if number not in answer or not code.strip() or "check_" in code or code.lstrip().startswith(("def ", "import ", "from ")):
            continue
        for name, pattern, replacement in OPERATORS:
            for match in re.finditer(pattern, code):
                if replacement is None:
                    new = constant_plus_one(match) if name == "int +1" else float_doubled(match)
                else:
                    new = match.expand(replacement)
                if new == match.group(0) or (name == "float x2" and float(match.group(1)) == 0.0):
                    continue  # 2 * 0.0 is 0.0: not a mutant
                changed = code[:match.start()] + new + code[match.end():] + line[len(code):]
                found.append((f"line {number + 1} {name}: {line.strip()}", "\n".join(lines[:number] + [changed] + lines[number + 1:])))
    return found


def exercises():
    """[(id, notebook, solution source, the notebook's import cell)] for every solution cell."""
    found = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        imports = next(c.source for c in nb.cells if c.cell_type == "code")
        solutions = [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        for k, source in enumerate(solutions, 1):
            found.append((f"{path.name[:2]}.{k}", path, source, imports))
    return found


# Solutions that need more of their notebook than its imports, and cannot run without it (none today: a statement
# that uses data of earlier cells, such as 10.4's demonstration on trap 11's logits Z, is left out of the mutant
# runs by `runnable`, and the function and its checker call remain).
NEEDS_THE_NOTEBOOK = {}

# Mutants that compute the same thing as the solution on every input, with the reason.
EQUIVALENT = {
    ("01.2", "line 3 dim -1->0: return npF.softmax(np.asarray(z) / T, dim=-1)"):
        "the exercise's z is one logit vector (1-D): its only dim, 0, is dim -1",
    ("04.2", 'line 3 BCEWithLogits->CE: "spam or not spam": "BCEWithLogitsLoss",'):
        "a right answer, not a mutant: two logits + CrossEntropyLoss is the same model (notebook 04, section 3)",
    ("06.1", "line 3 dim 0->-1: p = npF.softmax(z, dim=0)"):
        "z is one logit vector (1-D), as the exercise says: dim 0 and dim -1 are the same axis",
}


def runnable(source, known):
    """``source`` without the top-level statements that use names neither ``known`` nor bound earlier in the cell
    (a solution's demonstration on data of earlier cells); the definitions and the checker call stay."""
    import ast
    import builtins

    tree = ast.parse(source)
    bound = set(known) | set(dir(builtins))
    kept = []
    for node in tree.body:
        loaded = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stored.add(node.name)
            loaded = set()  # a body's names are looked up when it runs
        if loaded <= bound | stored:
            kept.append(node)
            bound |= stored
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def run(source, imports):
    """'killed', 'survived', 'invalid' (the mutant does not run before the checker) or 'crash: ...'."""
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # mutants divide by zero and overflow: that is what they are for
        exec(imports, namespace)
        try:
            exec(compile(runnable(source, namespace), "<mutant>", "exec"), namespace)
        except AssertionError:
            return "killed"
        except Exception as err:
            frames = [f.filename for f in traceback.extract_tb(err.__traceback__)]
            if any("softmax_ce" in f and "checks" in f for f in frames):
                return f"crash: {type(err).__name__}: {err}"
            return "invalid"
    return "survived"


def kill_report():
    report = {}
    for exercise, _path, source, imports in exercises():
        if exercise in NEEDS_THE_NOTEBOOK:
            continue
        results = [(description, run(mutant, imports)) for description, mutant in mutants(source)]
        report[exercise] = [("the solution itself, unmutated", run(source, imports)), *results]
    return report


@pytest.fixture(scope="module")
def report():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")
        return kill_report()


@pytest.mark.parametrize("exercise", [e for e, *_ in exercises() if e not in NEEDS_THE_NOTEBOOK])
def test_every_mutant_of_the_solution_is_rejected(report, exercise):
    (_, baseline), *results = report[exercise]
    assert baseline == "survived", (
        f"{exercise}: the solution itself does not pass its checker when run after the notebook's import cell alone "
        f"({baseline}): does it use a name another cell defines? Its mutants would prove nothing; make the solution "
        "self-contained")
    crashes = [(d, r) for d, r in results if r.startswith("crash")]
    assert not crashes, f"{exercise}: a checker raised instead of answering: {crashes}"
    survivors = [d for d, r in results if r == "survived" and (exercise, d) not in EQUIVALENT]
    assert not survivors, (f"{exercise}: the checker accepts these wrong answers (make it reject them, or list a "
                           f"truly equivalent one in EQUIVALENT with the reason): {survivors}")
    assert any(r == "killed" for _, r in results), f"{exercise}: no mutant ran at all"


def test_equivalent_mutants_still_exist():
    """An EQUIVALENT entry whose mutant no longer exists (the solution changed) is stale."""
    made = {(e, d) for e, _, source, _ in exercises() for d, _ in mutants(source)}
    assert not (stale := set(EQUIVALENT) - made), f"stale EQUIVALENT entries: {stale}"


if __name__ == "__main__":
    for exercise, ((_, baseline), *results) in kill_report().items():
        if baseline != "survived":
            print(f"{exercise}: the unmutated solution does not pass on its own ({baseline}): its mutants prove nothing")
        valid = [r for _, r in results if r != "invalid"]
        killed = sum(r == "killed" for r in valid)
        print(f"{exercise}: {killed}/{len(valid)} killed ({len(results) - len(valid)} invalid)")
        for description, result in results:
            if result not in ("killed", "invalid"):
                print(f"    {result}: {description}")
