"""Grade students' notebooks with the course's own checkers: `make grade SUBMISSIONS=DIR`.

    python tools/grade.py DIR [--timeout SECONDS] [--jobs N]

DIR holds the submissions, in either layout (the two may be mixed):
- one file per student and notebook: DIR/<student>_<NN_topic>.ipynb, e.g. ada_01_softmax.ipynb. The student's name
  may hold underscores (ada_lovelace_01_softmax.ipynb is ada_lovelace's 01_softmax): the notebook is the trailing
  NN_topic that names a course notebook;
- one folder per student: DIR/<student>/<NN_topic>.ipynb, e.g. ada/01_softmax.ipynb.
Each is a copy of handout/student/notebooks/NN_topic.ipynb with the student's answers. Anything else (a .txt, a
notebook named after no course notebook, a hidden file, a folder inside a student's folder) is listed as not graded.

Writes DIR/grades.csv, one row per student and exercise (student, notebook, exercise, checker, passed, message,
notes), and DIR/grades.html, a page with a students x exercises table (✓/✗, each message as a tooltip and as a
numbered note below), and prints one line per student. Both files are written atomically, and only over files this
tool wrote (DIR/.grades-made-by-tools-grade.json holds their hashes): a grades.csv or grades.html of yours, or one
edited since, is never overwritten; the tool says so and stops. The submissions are only read.

How one submission is graded, in its own process (--jobs at a time, default 2):
1. The exercises come from the course's notebook (notebooks/NN_topic.ipynb), not from the submission: each cell with
   a line `passed = check_x(answer)` is one exercise, graded by the course's check_x on the object named `answer`.
2. A temporary folder gets a copy of the submission as notebooks/NN_topic.ipynb, a fresh copy of the helper package
   beside it and of images/, so `import softmax_ce` and ../images/ work and nothing the notebook writes reaches the
   course or another submission; a second, private temporary folder holds a pristine copy of the package.
3. A fresh kernel runs every cell in order with nbclient (allow_errors: a cell that raises is recorded, the next ones
   still run), within --timeout seconds for the whole notebook (default 300). A notebook still running then is
   interrupted; its exercises whose cells had not finished are marked as timed out, the others are still graded.
4. Then, in that kernel, the grader puts back whatever the notebook replaced in builtins, math, numpy and torch (it
   took a snapshot before the first cell), imports the pristine package under a private name, and calls each of its
   checkers on the student's object, at most min(--timeout, 60) seconds each, with the notebook's prints silenced.
   The verdict is what that checker returns, and the message the one it gives.
So a student who deletes or edits the `passed = check_x(...)` line (recorded: "the checker call was removed or
changed", the exercise fails), redefines check_x, patches softmax_ce.checks or its harness (in memory or on disk),
replaces numpy.allclose, or prints "Correct!" gains nothing; the grader notes what it saw in the notes column.

This is not a sandbox: a notebook runs with your rights and can read and write your files, and one written to attack
this grader itself can defeat it. For untrusted work, run the grading inside a container or a throw-away account.
"""

import argparse
import concurrent.futures
import csv
import datetime
import hashlib
import html
import io
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = NOTEBOOKS / "softmax_ce"
IMAGES = ROOT / "images"
CSV_NAME, HTML_NAME, MARKER_NAME = "grades.csv", "grades.html", ".grades-made-by-tools-grade.json"
COLUMNS = ["student", "notebook", "exercise", "checker", "passed", "message", "notes"]
DEFAULT_TIMEOUT, DEFAULT_JOBS = 300, 2
CHECK_TIMEOUT_CAP = 60  # seconds for one checker call, at most (the course's checkers take milliseconds)
STARTUP_TIMEOUT = 120  # seconds for the kernel to start and for the grader's own cells (imports numpy and torch)
LAYOUTS = "<student>_<NN_topic>.ipynb or <student>/<NN_topic>.ipynb"
CALL = re.compile(r"^passed = (check_\w+)\((.*)\)\s*$", re.M)  # an exercise's last line in a course notebook


class UsageError(Exception):
    """A problem with how the tool was called: one line for the user, exit code 2."""


# ----------------------------------------------------------------------------- the course's exercises


def course_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def is_exercise(cell):
    """The rule tools/handout.py uses: an exercise is a code cell that calls a checker into `passed`."""
    return cell.cell_type == "code" and "passed = check_" in cell.source


def checker_module(checker):
    """The module of softmax_ce.checks that defines ``checker`` (nb01_softmax for check_softmax_rows)."""
    for path in sorted((PACKAGE / "checks").glob("nb*.py")):
        if re.search(rf"^def {checker}\(", path.read_text(encoding="utf-8"), re.M):
            return path.stem
    raise SystemExit(f"grade: no module of {PACKAGE / 'checks'} defines {checker}: the course is broken")


def exercises_of(path):
    """The exercises of one course notebook, in order: [{label, checker, module, arg, call}]."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in filter(is_exercise, nb.cells):
        if not (match := CALL.search(cell.source)):
            raise SystemExit(f"grade: an exercise cell of {path.name} has no line `passed = check_x(answer)`: the course is broken")
        checker, arg = match.groups()
        found.append({"label": f"{path.stem[:2]}.{len(found) + 1}", "checker": checker, "module": checker_module(checker),
                      "arg": arg.strip(), "call": f"passed = {checker}({arg.strip()})"})
    return found


def course_exercises():
    """{notebook stem: its exercises} for every course notebook."""
    return {path.stem: exercises_of(path) for path in course_notebooks()}


# ----------------------------------------------------------------------------- finding the submissions


def notebook_of(filename, stems):
    """(student, stem) for a file named <student>_<stem>.ipynb, the longest matching stem first; else None."""
    if not filename.endswith(".ipynb"):
        return None
    name = filename[: -len(".ipynb")]
    for stem in sorted(stems, key=len, reverse=True):
        if name.endswith("_" + stem) and len(name) > len(stem) + 1:
            return name[: -len(stem) - 1], stem
    return None


def why_not_a_submission(relative, stems, in_folder):
    """What is wrong with a file's name, for the list of files not graded."""
    name = pathlib.PurePath(relative).name
    if name.startswith("."):
        return "a hidden file"
    if not name.endswith(".ipynb"):
        return f"not a notebook (.ipynb); submissions are {LAYOUTS}"
    known = sorted(stems)
    span = f"NN_topic is a course notebook's name, {known[0]} to {known[-1]}" if known else "the course has no notebooks"
    if in_folder:
        return f"names no course notebook ({span})"
    if name[: -len(".ipynb")] in stems:
        return f"no student name: call it <student>_{name}"
    return f"names no course notebook: submissions are {LAYOUTS}; {span}"


def own_outputs(name):
    return name in (CSV_NAME, HTML_NAME, MARKER_NAME) or (name.startswith(".grades.") and name.endswith(".tmp"))


def find_submissions(folder, stems):
    """([{student, notebook, path, relative}], [(relative path, why it is not graded)]) for the files in ``folder``."""
    found, others = [], []
    for entry in sorted(folder.iterdir()):
        if own_outputs(entry.name):
            continue
        if entry.is_dir() and not entry.name.startswith("."):
            for inner in sorted(entry.iterdir()):
                relative = f"{entry.name}/{inner.name}"
                if inner.is_file() and inner.name.endswith(".ipynb") and inner.name[: -len(".ipynb")] in stems:
                    found.append({"student": entry.name, "notebook": inner.name[: -len(".ipynb")], "path": str(inner),
                                  "relative": relative})
                else:
                    others.append((relative + ("/" if inner.is_dir() else ""),
                                   "a folder inside a student's folder" if inner.is_dir() else why_not_a_submission(relative, stems, True)))
        elif entry.is_file() and (match := notebook_of(entry.name, stems)):
            found.append({"student": match[0], "notebook": match[1], "path": str(entry), "relative": entry.name})
        else:
            others.append((entry.name + ("/" if entry.is_dir() else ""),
                           "a hidden folder" if entry.is_dir() else why_not_a_submission(entry.name, stems, False)))
    return found, others


def duplicates(found):
    """{(student, notebook): [relative paths]} for the notebooks a student handed in more than once (both layouts)."""
    seen = {}
    for sub in found:
        seen.setdefault((sub["student"], sub["notebook"]), []).append(sub["relative"])
    return {key: paths for key, paths in seen.items() if len(paths) > 1}


# ----------------------------------------------------------------------------- only our own files are replaced


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_hashes(folder):
    """{file name: [hashes]} this tool recorded when it last wrote its outputs in ``folder`` ({} when it never did)."""
    marker = folder / MARKER_NAME
    if not marker.exists():
        return {}
    try:
        return {name: list(hashes) for name, hashes in json.loads(marker.read_text(encoding="utf-8")).items()}
    except (ValueError, AttributeError, TypeError):
        raise UsageError(f"{marker} is not the record this tool writes: move it away; nothing was changed") from None


def refuse_foreign_outputs(folder):
    """A UsageError when grades.csv or grades.html exists and is not, byte for byte, what this tool last wrote."""
    hashes = recorded_hashes(folder)
    for name in (CSV_NAME, HTML_NAME):
        path = folder / name
        if path.exists() and sha256(path) not in hashes.get(name, []):
            raise UsageError(f"{path} exists and was not written by tools/grade.py (or was edited since): move it away "
                             "or grade a copy of the folder; nothing was changed")


def write_atomically(path, data):
    """``data`` into ``path`` through a temporary file beside it, with the permissions a new file gets (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".grades.", suffix=".tmp", delete=False) as tmp:
        tmp.write(data)
    try:
        os.chmod(tmp.name, 0o666 & ~umask)
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise


def write_outputs(folder, csv_text, html_text):
    """grades.csv and grades.html, each swapped in whole; the record of their hashes accepts the old and the new ones
    while they are swapped, so an interrupted run leaves nothing the next run would refuse."""
    new = {CSV_NAME: csv_text.encode("utf-8"), HTML_NAME: html_text.encode("utf-8")}
    old = recorded_hashes(folder)
    marker = folder / MARKER_NAME
    during = {name: sorted(set(old.get(name, [])) | {hashlib.sha256(data).hexdigest()}) for name, data in new.items()}
    write_atomically(marker, json.dumps(during, indent=1).encode("utf-8"))
    for name, data in new.items():
        write_atomically(folder / name, data)
    after = {name: [hashlib.sha256(data).hexdigest()] for name, data in new.items()}
    write_atomically(marker, json.dumps(after, indent=1).encode("utf-8"))


# ----------------------------------------------------------------------------- code that runs inside the kernel

# Run before the notebook's first cell: a snapshot of the modules the checkers rely on, and restore() to put back
# what the notebook replaced or deleted in them. A value the library itself rebinds (torch wraps torch.manual_seed
# when dynamo loads, torch.Storage follows the default dtype) comes from that library and is left alone; IPython and
# ipykernel set the "volatile" builtins themselves around every cell (input() is bound to each request).
GUARD_SOURCE = r'''
def _course_grade_guard():
    import builtins, math, sys, types
    import numpy, numpy.linalg
    modules = [builtins, math, numpy, numpy.linalg]
    try:
        import torch, torch.nn.functional
        modules += [torch, torch.nn.functional]
    except Exception:
        pass
    saved = [(module, dict(vars(module))) for module in modules]
    volatile = {"_", "__", "___", "exit", "quit", "get_ipython", "display", "help", "__IPYTHON__", "input"}

    def origin(value):
        name = getattr(value, "__module__", None)
        return (name if isinstance(name, str) else type(value).__module__).split(".")[0]

    def restore():
        changed = []
        for module, names in saved:
            current, library = vars(module), module.__name__.split(".")[0]
            for name, value in names.items():
                if module is builtins and name in volatile:
                    continue
                if name not in current or (current[name] is not value and origin(current[name]) != library):
                    changed.append(f"{module.__name__}.{name}")
                    setattr(module, name, value)
        return changed

    guard = types.ModuleType("_course_grade_guard")
    guard.restore = restore
    sys.modules[guard.__name__] = guard


_course_grade_guard()
del _course_grade_guard
'''

# Run after the notebook: loaded into a namespace of its own, it grades one exercise per call of grade().
GRADER_SOURCE = r'''
import contextlib, importlib.util, io, json, signal, sys


class CheckTimeout(BaseException):
    """Raised in the kernel's main thread when one checker call runs out of time (not an Exception: the checkers'
    harness reports a learner's Exception as a verdict; this one must get past it)."""


def load_pristine(config):
    """The pristine copy of the helper package, imported under a private name (no bytecode written)."""
    name, folder = config["private_name"], config["package"]
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location(name, folder + "/__init__.py", submodule_search_locations=[folder])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    finally:
        sys.dont_write_bytecode = before
    return package


def same_function(a, b):
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return code_a is not None and code_b is not None and code_a.co_code == code_b.co_code and code_a.co_consts == code_b.co_consts


def changed_names(public_name, pristine):
    """The functions of the notebook's own softmax_ce module ``public_name`` that differ from the pristine ones."""
    public = sys.modules.get(public_name)
    if public is None:
        return []
    return [f"{public_name}.{name}" for name, value in vars(pristine).items()
            if callable(value) and hasattr(value, "__code__") and not same_function(getattr(public, name, None), value)]


def setup(config, user_ns, restored):
    global CONFIG, NS, PRISTINE, NOTES
    CONFIG, NS = config, user_ns
    PRISTINE = load_pristine(config)
    NOTES = [f"the notebook replaced {', '.join(restored)} (put back before grading)"] if restored else []
    changed = []
    for sub in ["functional", "gradients", "metrics", "validation", "checks._harness"] + [f"checks.{m}" for m in config["modules"]]:
        pristine = sys.modules.get(f"{config['private_name']}.{sub}")
        if pristine is not None:
            changed += changed_names(f"softmax_ce.{sub}", pristine)
    if changed:
        NOTES.append(f"the notebook's softmax_ce differs from the course's in {', '.join(changed[:6])}"
                     + (" ..." if len(changed) > 6 else "") + " (graded with a pristine copy)")
    for sub in config["modules"]:
        module = sys.modules[f"{config['private_name']}.checks.{sub}"]
        module._verdict = recording(module._verdict)


def recording(verdict):
    def _verdict(ok, message):
        VERDICTS.append((bool(ok), ("Correct! " if ok else "Not yet: ") + str(message)))
        return verdict(ok, message)
    return _verdict


VERDICTS = []


def on_alarm(signum, frame):
    raise CheckTimeout()


def call_checker(checker, answer, seconds):
    """(returned value, error text or None): the checker on the answer, prints silenced, at most ``seconds``."""
    alarm = hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return checker(answer), None
    except CheckTimeout:
        return None, f"the checker did not finish in {seconds:g} s: does the answer loop forever?"
    except BaseException as err:
        return None, f"the course's checker raised {type(err).__name__}: {err}"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def grade(exercise):
    checker_name, arg = exercise["checker"], exercise["arg"]
    notes = list(NOTES)
    shown = NS.get(checker_name)
    pristine = getattr(sys.modules[f"{CONFIG['private_name']}.checks.{exercise['module']}"], checker_name)
    if shown is not None and not same_function(shown, pristine):
        notes.append(f"{checker_name} in the notebook is not the course's checker (graded with the course's own)")
    result = {"nonce": CONFIG["nonce"], "checker": checker_name, "notes": notes, "missing": False}
    if arg.isidentifier() and arg not in NS:
        result.update(passed=False, missing=True, message=f"`{arg}` is not defined after the notebook ran")
    else:
        try:
            answer = NS[arg] if arg.isidentifier() else eval(arg, NS)
        except BaseException as err:
            answer, error = None, f"`{arg}` could not be evaluated: {type(err).__name__}: {err}"
        else:
            VERDICTS.clear()
            returned, error = call_checker(getattr(PRISTINE.checks, checker_name), answer, CONFIG["check_timeout"])
        if error:
            result.update(passed=False, message=error)
        else:
            ok, message = VERDICTS[-1] if VERDICTS else (False, "the checker gave no verdict")
            result.update(passed=returned is True and ok, message=message)
    with open(CONFIG["result"], "a", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
'''


def setup_source(config):
    """The first grading cell: put back what the notebook replaced, then load the grader into a private namespace."""
    return (f"import sys as _course_grade_sys\n"
            f"_course_grade_restored = _course_grade_sys.modules['_course_grade_guard'].restore()  # first: exec may be patched\n"
            f"_course_grade_ns = {{'__name__': '_course_grader'}}\n"
            f"exec(compile({GRADER_SOURCE!r}, '<course grader>', 'exec'), _course_grade_ns)\n"
            f"_course_grade_ns['setup']({config!r}, get_ipython().user_ns, _course_grade_restored)\n"
            f"_course_grade_sys.modules['_course_grader_{config['nonce']}'] = _course_grade_ns\n"
            f"del _course_grade_ns, _course_grade_sys, _course_grade_restored\n")


def grade_source(config, exercise):
    return f"__import__('sys').modules['_course_grader_{config['nonce']}']['grade']({exercise!r})\n"


# ----------------------------------------------------------------------------- one submission (the worker process)


def copy_course(workspace, pristine):
    """The submission's world: notebooks/softmax_ce and images/ in ``workspace``; the pristine package in ``pristine``."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PACKAGE, workspace / "notebooks" / "softmax_ce", ignore=ignore)
    shutil.copytree(IMAGES, workspace / "images", ignore=ignore)
    shutil.copytree(PACKAGE, pristine / "softmax_ce", ignore=ignore)


def tree_hashes(folder):
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def read_notebook(path):
    """(notebook, None) or (None, why it is not a notebook)."""
    import nbformat

    raw = pathlib.Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not a notebook (not UTF-8 text)"
    try:
        json.loads(text)
    except ValueError as err:
        return None, f"not a notebook (invalid JSON: {err})"
    try:
        nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
        if not all(isinstance(c.get("source"), str) and c.get("cell_type") in ("code", "markdown", "raw") for c in nb.cells):
            raise ValueError("a cell has no type or no source")
    except Exception as err:
        return None, f"not a notebook (JSON, but {type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'unreadable'})"
    return nb, None


def cell_label(nb, index):
    """``cell 12 (`first line`)``: the cell's position in the notebook, 1-based, and how it starts."""
    first = next((line.strip() for line in nb.cells[index].source.splitlines() if line.strip()), "")
    return f"cell {index + 1} (`{first[:40] + ('…' if len(first) > 40 else '')}`)"


def error_text(nb, index, output):
    """What a cell's error output says, as a message: "import of X failed ..." or "cell k raised NameError: ..."."""
    ename = str(output.get("ename", "Error"))
    evalue = (str(output.get("evalue", "")).splitlines() or [""])[0]
    if ename in ("ModuleNotFoundError", "ImportError"):
        named = re.search(r"No module named '([^']+)'|cannot import name '([^']+)'", evalue)
        what = next((g for g in named.groups() if g), "a module") if named else "a module"
        return f"import of {what} failed in {cell_label(nb, index)}: {ename}: {evalue}"
    return f"{cell_label(nb, index)} raised {ename}: {evalue}"


def call_cells(nb, exercise):
    """Indexes of the submission's code cells that still hold the exercise's exact checker call."""
    pattern = re.compile(rf"^passed\s*=\s*{exercise['checker']}\(\s*{re.escape(exercise['arg'])}\s*\)\s*(#.*)?$", re.M)
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and pattern.search(cell.source)]


class Run:
    """What happened when a submission ran: each cell's error, where and why the run stopped, the kernel's verdicts."""

    def __init__(self):
        self.errors = {}  # index of a cell of the submission -> what its error says
        self.stopped_at = None  # index of the cell that was still running at the time limit
        self.stop_message = None
        self.fatal = None  # why nothing could be graded (the kernel died or did not start)
        self.graded = {}  # checker -> the grader's result in the kernel
        self.grading_problem = None  # why the grader's own cells did not finish


def interrupt(client):
    """Interrupt the kernel (KeyboardInterrupt in the running cell), so the grader's cells can run after it."""
    from jupyter_core.utils import run_sync

    try:
        run_sync(client.km.interrupt_kernel)()
    except Exception:
        pass


def run_cells(client, executed, nb, run, timeout):
    """The submission's code cells (``executed`` cells 1..; ``nb`` is the submission, for messages), all within
    ``timeout`` seconds. Fills ``run``; returns whether the kernel is still there to grade."""
    import nbclient

    deadline = time.monotonic() + timeout
    for index in range(len(nb.cells)):
        cell = executed.cells[index + 1]
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        client.timeout = max(1, int(deadline - time.monotonic() + 0.999))
        try:
            client.execute_cell(cell, index + 1)
        except nbclient.exceptions.CellTimeoutError:
            run.stopped_at = index
            run.stop_message = (f"the notebook timed out after {timeout:g} s: {cell_label(nb, index)} was still running; "
                                "it was stopped there and the cells after it did not run")
            interrupt(client)
            return True
        except nbclient.exceptions.DeadKernelError:
            run.fatal = (f"the kernel died while running {cell_label(nb, index)} (did the notebook exit, or run out of "
                         "memory?): nothing could be graded")
            return False
        error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
        if error is not None:
            run.errors[index] = error_text(nb, index, error)
    return True


def grading_cells(config, exercises):
    import nbformat

    return [nbformat.v4.new_code_cell(setup_source(config))] + [nbformat.v4.new_code_cell(grade_source(config, ex)) for ex in exercises]


def grade_in_kernel(client, config, exercises, run):
    """The grader's own cells, after the submission's: put back, load the pristine checkers, grade each exercise
    (its verdict lands in the result file, a line per exercise, marked with this run's nonce)."""
    import nbclient

    cells = grading_cells(config, exercises)
    start = len(client.nb.cells)
    client.nb.cells.extend(cells)
    for k, cell in enumerate(cells):
        client.timeout = STARTUP_TIMEOUT if k == 0 else int(config["check_timeout"]) + 30
        try:
            client.execute_cell(cell, start + k, store_history=False)
        except nbclient.exceptions.CellTimeoutError:
            run.grading_problem = ("the kernel did not respond to the grader: the notebook's last cell did not stop when "
                                   "interrupted, or an answer kept the checker from finishing")
            interrupt(client)
            break
        except nbclient.exceptions.DeadKernelError:
            run.grading_problem = "the kernel died while the grader ran the course's checkers (an answer exited it?)"
            break
        error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
        if error is not None:
            run.grading_problem = f"the grader's cell failed in the kernel: {error.get('ename')}: {error.get('evalue')}"
            if k == 0:
                break
    results = pathlib.Path(config["result"])
    for line in results.read_text(encoding="utf-8").splitlines() if results.exists() else []:
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and result.get("nonce") == config["nonce"]:
            run.graded[result["checker"]] = result


def execution_copy(nb):
    """The notebook to run: the grader's guard cell, then the submission's cells (outputs cleared, same order)."""
    import nbformat

    cells = [nbformat.v4.new_code_cell(GUARD_SOURCE)]
    cells += [nbformat.v4.new_code_cell(c.source, metadata=dict(c.metadata)) if c.cell_type == "code"
              else nbformat.v4.new_raw_cell("") for c in nb.cells]
    return nbformat.v4.new_notebook(cells=cells)


def execute_submission(nb, exercises, workspace, private, timeout, check_timeout):
    """The submission and then the grader, in one fresh kernel started in the workspace: a Run."""
    import nbclient

    run = Run()
    config = {"package": str(private / "softmax_ce"), "private_name": f"_course_pristine_{secrets.token_hex(8)}",
              "result": str(private / "results.jsonl"), "nonce": secrets.token_hex(16), "check_timeout": check_timeout,
              "modules": sorted({ex["module"] for ex in exercises})}
    executed = execution_copy(nb)
    client = nbclient.NotebookClient(executed, timeout=STARTUP_TIMEOUT, startup_timeout=STARTUP_TIMEOUT, kernel_name="python3",
                                     allow_errors=True, record_timing=False, shutdown_kernel="immediate",
                                     resources={"metadata": {"path": str(workspace / "notebooks")}})
    client.reset_execution_trackers()
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            client.execute_cell(executed.cells[0], 0, store_history=False)
            if any(o.get("output_type") == "error" for o in executed.cells[0].outputs):
                raise RuntimeError("the grader's guard cell failed (is numpy installed in .venv?)")
            if run_cells(client, executed, nb, run, timeout):
                grade_in_kernel(client, config, exercises, run)
    except Exception as err:  # the kernel did not start, or failed in the grader's own cells
        if run.fatal is None:
            run.fatal = f"the kernel failed: {type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
    return run


def error_context(run, cell):
    """The errors that explain an exercise's failure: the notebook's first error up to the exercise's cell (a failed
    import is the usual root cause), then that cell's own error when it is another one."""
    earlier = [i for i in sorted(run.errors) if cell is None or i <= cell]
    if not earlier:
        return None
    first, own = run.errors[earlier[0]], run.errors.get(cell)
    return first if own is None or own == first else f"{first}; then {own}"


def exercise_verdict(nb, exercise, run):
    """(passed, message, notes) for one exercise of a submission that ran."""
    calls = call_cells(nb, exercise)
    last_call = calls[-1] if calls else None
    result = run.graded.get(exercise["checker"])
    notes = list(result["notes"]) if result else []
    if run.fatal:
        return False, run.fatal, notes
    if run.stopped_at is not None and (last_call is None or last_call >= run.stopped_at):
        return False, run.stop_message, notes
    if result is None:
        return False, run.grading_problem or "the grader got no verdict for this exercise", notes
    passed, message = result["passed"] is True, result["message"]
    if not passed and (context := error_context(run, last_call)):
        message = f"{message} ({context})"
    if not calls:
        return False, (f"the checker call `{exercise['call']}` was removed or changed; the course's checker, run on "
                       f"`{exercise['arg']}`, says: {message}"), notes
    return passed, message, notes


def changed_files(before, after, label):
    """A note naming the files of the course's copy that the notebook changed or deleted (or added, for code)."""
    changed = sorted(name for name in before if after.get(name) != before[name])
    if label == "softmax_ce":
        changed += sorted(name for name in after if name not in before)
    return [f"{label}/{name}" for name in changed]


def grade_submission(spec):
    """Rows (passed, message, notes per exercise) for one submission: spec has path, exercises, timeout, check_timeout."""
    exercises = spec["exercises"]
    nb, problem = read_notebook(spec["path"])
    if problem:
        return [{"passed": False, "message": problem, "notes": ""} for _ in exercises]
    workspace = pathlib.Path(tempfile.mkdtemp(prefix="grade-work-"))
    private = pathlib.Path(tempfile.mkdtemp(prefix="grade-private-"))
    try:
        copy_course(workspace, private)
        shutil.copyfile(spec["path"], workspace / "notebooks" / f"{spec['notebook']}.ipynb")
        before = {"softmax_ce": tree_hashes(private / "softmax_ce"), "images": tree_hashes(IMAGES)}
        os.environ["PYTHONPATH"] = str(workspace / "notebooks")  # the kernel imports the workspace's softmax_ce
        run = execute_submission(nb, exercises, workspace, private, spec["timeout"], spec["check_timeout"])
        after = {"softmax_ce": tree_hashes(workspace / "notebooks" / "softmax_ce"), "images": tree_hashes(workspace / "images")}
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    touched = changed_files(before["softmax_ce"], after["softmax_ce"], "softmax_ce") + changed_files(before["images"], after["images"], "images")
    extra = [f"the notebook changed its copy of {', '.join(touched[:4])}{' ...' if len(touched) > 4 else ''} "
             "(the course's files are untouched; graded with a pristine copy)"] if touched else []
    rows = []
    for exercise in exercises:
        passed, message, notes = exercise_verdict(nb, exercise, run)
        rows.append({"passed": passed, "message": message, "notes": "; ".join(notes + extra)})
    return rows


def worker_environment():
    """The same conditions as `make outputs` and nbval (no progress bars, one thread), and no bytecode written."""
    os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


def worker_main():
    """`grade.py --worker`: grade the submission described on stdin; its rows, as JSON, on stdout's last line."""
    worker_environment()
    spec = json.loads(sys.stdin.read())
    rows = grade_submission(spec)
    sys.stdout.write("\n" + json.dumps(rows) + "\n")
    return 0


# ----------------------------------------------------------------------------- all submissions (the main process)


def stop(proc):
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


def run_worker(sub, exercises, timeout, check_timeout):
    """The rows of one submission, graded by a worker process; its failures become the rows' messages."""
    started = time.monotonic()
    rows = worker_rows(sub, exercises, timeout, check_timeout)
    print(f"graded {sub['relative']}: {sum(bool(r['passed']) for r in rows)}/{len(rows)} in {time.monotonic() - started:.1f} s",
          file=sys.stderr, flush=True)
    return rows


def worker_rows(sub, exercises, timeout, check_timeout):
    spec = {"path": sub["path"], "notebook": sub["notebook"], "exercises": exercises, "timeout": timeout,
            "check_timeout": check_timeout}
    limit = timeout + 3 * STARTUP_TIMEOUT + len(exercises) * (check_timeout + 30)
    try:
        proc = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).resolve()), "--worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                                start_new_session=os.name == "posix")
    except OSError as err:
        return failed_rows(exercises, f"the grader could not start its worker: {err}")
    try:
        out, err = proc.communicate(json.dumps(spec), timeout=limit)
    except subprocess.TimeoutExpired:
        stop(proc)
        proc.communicate()
        return failed_rows(exercises, f"the grader stopped this submission after {limit:g} s: its kernel did not respond")
    try:
        rows = json.loads(out.strip().splitlines()[-1])
        assert isinstance(rows, list) and len(rows) == len(exercises)
        return rows
    except (IndexError, ValueError, AssertionError):
        last = (err.strip().splitlines() or ["no message"])[-1]
        return failed_rows(exercises, f"the grader's worker failed (exit code {proc.returncode}): {last}")


def failed_rows(exercises, message):
    return [{"passed": False, "message": message, "notes": ""} for _ in exercises]


def grade_all(found, course, timeout, jobs):
    """Every submission graded, ``jobs`` at a time: the rows of grades.csv, in student, notebook, exercise order."""
    check_timeout = min(timeout, CHECK_TIMEOUT_CAP)
    twice = duplicates(found)
    work = sorted((s for s in found if (s["student"], s["notebook"]) not in twice), key=lambda s: (s["student"], s["notebook"]))
    results = {}
    for (student, notebook), paths in twice.items():
        results[(student, notebook)] = failed_rows(course[notebook], f"handed in more than once ({' and '.join(paths)}): keep "
                                                   "one and grade again")
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_worker, s, course[s["notebook"]], timeout, check_timeout): s for s in work}
        for future in concurrent.futures.as_completed(futures):
            sub = futures[future]
            results[(sub["student"], sub["notebook"])] = future.result()
    table = []
    for (student, notebook) in sorted(results):
        for exercise, row in zip(course[notebook], results[(student, notebook)]):
            table.append({"student": student, "notebook": notebook, "exercise": exercise["label"],
                          "checker": exercise["checker"], "passed": bool(row["passed"]), "message": row["message"],
                          "notes": row["notes"]})
    return table


# ----------------------------------------------------------------------------- grades.csv, grades.html, the summary


def csv_text(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def students_of(rows):
    return sorted({r["student"] for r in rows})


def summary_lines(rows):
    """One line per student: exercises passed in all, then per notebook."""
    lines = []
    width = max((len(s) for s in students_of(rows)), default=0)
    for student in students_of(rows):
        mine = [r for r in rows if r["student"] == student]
        per_notebook = ", ".join(f"{nb} {sum(r['passed'] for r in mine if r['notebook'] == nb)}/"
                                 f"{sum(1 for r in mine if r['notebook'] == nb)}" for nb in sorted({r["notebook"] for r in mine}))
        lines.append(f"{student:<{width}}  {sum(r['passed'] for r in mine)}/{len(mine)} exercises passed ({per_notebook})")
    return lines


PAGE_STYLE = """body { font-family: sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #1a1a1a; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #999; padding: 0.3em 0.55em; text-align: center; }
thead th { background: #eef1f5; } tbody th { text-align: left; font-weight: normal; background: #f7f8fa; }
td.pass { color: #0a6b2a; } td.fail { color: #a3140f; background: #fdf1f0; } td.none { color: #555; }
td a { color: inherit; } .total { font-weight: bold; } .notes { font-size: 0.92em; } .notes li { margin: 0.3em 0; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
code { background: #f0f0f0; padding: 0 0.2em; } caption { text-align: left; font-weight: bold; padding: 0.3em 0; }"""


def message_html(text):
    """A message as HTML: escaped, its `code` spans set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def cell_html(row, number):
    """One table cell: ✓ or ✗ (with words for screen readers), the message as a tooltip, a link to note ``number``."""
    tip = html.escape(row["message"] + (f" [notes: {row['notes']}]" if row["notes"] else ""), quote=True)
    mark, words, css = ("✓", "passed", "pass") if row["passed"] else ("✗", "not passed", "fail")
    if number is None:
        return f'<td class="{css}" title="{tip}"><span aria-hidden="true">{mark}</span><span class="sr">{words}</span></td>'
    return (f'<td class="{css}" title="{tip}" id="cell-{number}"><a href="#note-{number}"><span aria-hidden="true">{mark}</span>'
            f'<span class="sr">{words}, note</span><sup>{number}</sup></a></td>')


def html_page(rows, others, folder):
    """The summary page: a students x exercises table, grouped by notebook, and the notes it refers to."""
    notebooks = sorted({r["notebook"] for r in rows})
    columns = {nb: sorted({(r["exercise"], r["checker"]) for r in rows if r["notebook"] == nb}) for nb in notebooks}
    by_key = {(r["student"], r["notebook"], r["exercise"]): r for r in rows}
    colgroups = '<colgroup span="1"></colgroup>' + "".join(f'<colgroup span="{len(columns[nb])}"></colgroup>' for nb in notebooks)
    head1 = '<tr><th scope="col" rowspan="2">student</th>' + "".join(
        f'<th scope="colgroup" colspan="{len(columns[nb])}">{html.escape(nb)}</th>' for nb in notebooks) + '<th scope="col" rowspan="2">passed</th></tr>'
    head2 = "<tr>" + "".join(f'<th scope="col"><abbr title="{html.escape(checker)}">{html.escape(label)}</abbr></th>'
                             for nb in notebooks for label, checker in columns[nb]) + "</tr>"
    body, notes = [], []
    for student in students_of(rows):
        cells, mine = [], [r for r in rows if r["student"] == student]
        for nb in notebooks:
            for label, _ in columns[nb]:
                row = by_key.get((student, nb, label))
                if row is None:
                    cells.append('<td class="none"><span aria-hidden="true">—</span><span class="sr">not handed in</span></td>')
                    continue
                number = None
                if not row["passed"] or row["notes"]:
                    notes.append((row, len(notes) + 1))
                    number = len(notes)
                cells.append(cell_html(row, number))
        total = f'<td class="total">{sum(r["passed"] for r in mine)}/{len(mine)}</td>'
        body.append(f'<tr><th scope="row">{html.escape(student)}</th>{"".join(cells)}{total}</tr>')
    note_items = "\n".join(
        f'<li id="note-{n}"><strong>{html.escape(r["student"])}, {html.escape(r["exercise"])} <code>{html.escape(r["checker"])}</code>'
        f'</strong> ({"passed" if r["passed"] else "not passed"}): {message_html(r["message"])}'
        + (f"<br>Notes: {message_html(r['notes'])}" if r["notes"] else "") + f' <a href="#cell-{n}">back to the table</a></li>'
        for r, n in notes)
    other_items = "\n".join(f"<li><code>{html.escape(name)}</code>: {html.escape(why)}</li>" for name, why in others)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Grades: {html.escape(folder.name)}</title><style>{PAGE_STYLE}</style></head>
<body><main>
<h1>Grades: {html.escape(folder.name)}</h1>
<p>Graded on {when} by <code>tools/grade.py</code> with the course's own checkers: {len(students_of(rows))} students,
{sum(r["passed"] for r in rows)} of {len(rows)} exercises passed. ✓ passed, ✗ not passed, — not handed in. Each
numbered mark links to its message below (hover over a mark to see it too); the same rows are in grades.csv.</p>
<table><caption>Exercises passed, by student (rows) and exercise (columns, grouped by notebook)</caption>
{colgroups}<colgroup span="1"></colgroup>
<thead>{head1}
{head2}</thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
<h2>Messages</h2>
{f'<ol class="notes">{note_items}</ol>' if notes else "<p>Every exercise handed in passed, and the grader noted nothing.</p>"}
<h2>Files not graded</h2>
{f"<ul>{other_items}</ul>" if others else "<p>None: every file in the folder was a submission.</p>"}
</main></body></html>
"""


# ----------------------------------------------------------------------------- command line


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="tools/grade.py", description="Grade students' notebooks with the course's checkers.")
    parser.add_argument("folder", metavar="DIR", help=f"the submissions: {LAYOUTS}")
    parser.add_argument("--timeout", type=positive(float), default=DEFAULT_TIMEOUT,
                        help=f"seconds for running one notebook (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--jobs", type=positive(int), default=DEFAULT_JOBS,
                        help=f"submissions graded at the same time (default {DEFAULT_JOBS})")
    return parser.parse_args(argv)


def submissions_folder(name):
    """DIR as a Path, or a UsageError saying what is wrong with it."""
    folder = pathlib.Path(name)
    if not folder.exists():
        raise UsageError(f"{name} does not exist: give the folder of submissions ({LAYOUTS})")
    if not folder.is_dir():
        raise UsageError(f"{name} is not a folder: give the folder of submissions ({LAYOUTS})")
    if not any(not own_outputs(entry.name) for entry in folder.iterdir()):
        raise UsageError(f"{name} is empty: put the submissions in it ({LAYOUTS})")
    return folder


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main()
    args = parse_args(argv)
    try:
        folder = submissions_folder(args.folder)
        refuse_foreign_outputs(folder)
        course = course_exercises()
        found, others = find_submissions(folder, course)
        if not found:
            raise UsageError(f"{args.folder} holds no submissions ({len(others)} other file(s): "
                             f"{', '.join(name for name, _ in others[:3])}{' ...' if len(others) > 3 else ''}); expected {LAYOUTS}")
        started = time.monotonic()
        rows = grade_all(found, course, args.timeout, args.jobs)
        refuse_foreign_outputs(folder)  # again: a file of yours may have appeared while the notebooks ran
    except UsageError as err:
        print(f"grade: {err}", file=sys.stderr)
        return 2
    write_outputs(folder, csv_text(rows), html_page(rows, others, folder.resolve()))
    for line in summary_lines(rows):
        print(line)
    for name, why in others:
        print(f"not graded: {name}: {why}")
    print(f"wrote {folder / CSV_NAME} and {folder / HTML_NAME} ({len(rows)} rows, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
