"""The maintainers' commit path, run for real on a scratch repository: pre-commit's hooks (.pre-commit-config.yaml)
and git's clean filter for notebooks (.gitattributes, set up by `make hooks`). Ruff stops a lint error; a notebook
JupyterLab touched is committed tidy, its outputs kept; nothing a maintainer has not committed is ever lost."""

import json
import os
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
NOTEBOOK = "notebooks/02_cross_entropy.ipynb"


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)


def pre_commit(repo, *files):
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    args = ["--files", *files] if files else []
    return subprocess.run([str(VENV / "bin" / "pre-commit"), "run", "--color", "never", *args],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=120)


def scratch_repo(tmp_path, clean_filter):
    repo = tmp_path / "course"  # the files the hooks read, committed as they are in the course
    for name in [".pre-commit-config.yaml", ".gitattributes", "pyproject.toml", "tools/outputs.py", NOTEBOOK]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    (repo / ".venv").symlink_to(VENV)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "maintainer@example.org")
    git(repo, "config", "user.name", "Maintainer")
    if clean_filter:  # what `make hooks` configures
        git(repo, "config", "filter.course-notebook.clean", ".venv/bin/python tools/outputs.py --clean")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the course")
    return repo


def jupyterlab_save(path, extra_source=None):
    """What a JupyterLab session leaves in a notebook: the kernel's language_info, widget state, timing stamps, an
    opened solution, a folded and a scrolled cell; and, with ``extra_source``, an edit of the first code cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"]["language_info"].update(version="3.11.9", codemirror_mode={"name": "ipython", "version": 3})
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb["cells"][2]["metadata"]["execution"] = {"iopub.status.idle": "2026-11-23T10:00:00.000Z"}
    solution = next(c for c in nb["cells"] if "solution" in c["metadata"].get("tags", []))
    solution["metadata"].pop("jupyter", None)  # a maintainer opened a solution to edit it
    nb["cells"][3]["metadata"].update(scrolled=True, jupyter={"source_hidden": True}, collapsed=True)
    if extra_source:
        code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        code["source"] = [extra_source + "\n", *code["source"]]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def test_without_the_filter_the_hook_tidies_the_file_and_stops_the_commit(tmp_path):
    repo = scratch_repo(tmp_path, clean_filter=False)
    stored = repo / NOTEBOOK
    original = stored.read_bytes()
    jupyterlab_save(stored)
    (repo / "tools" / "scratch.py").write_text("import os\n")  # F401: imported but unused
    git(repo, "add", "-A")

    first = pre_commit(repo, NOTEBOOK, "tools/scratch.py")
    assert first.returncode == 1, first.stdout
    assert "F401" in first.stdout and "scratch.py" in first.stdout
    assert f"tidied {NOTEBOOK}" in first.stdout and "git add it again" in first.stdout
    assert stored.read_bytes() == original, "the hook must restore exactly the stored notebook, outputs included"

    (repo / "tools" / "scratch.py").unlink()
    git(repo, "add", "-A")
    second = pre_commit(repo, NOTEBOOK)
    assert second.returncode == 0, second.stdout


def test_with_the_filter_git_add_stores_the_tidy_notebook_and_keeps_your_file(tmp_path):
    """`make hooks`: git add tidies on the way into the index; the working file, with everything JupyterLab wrote, is
    left alone; git diff shows nothing for metadata; the commit passes the hooks at once."""
    repo = scratch_repo(tmp_path, clean_filter=True)
    stored = repo / NOTEBOOK
    original = stored.read_bytes()
    jupyterlab_save(stored)
    saved = stored.read_bytes()
    assert git(repo, "diff", "--stat").stdout == "", "git diff must not show JupyterLab's metadata"
    git(repo, "add", NOTEBOOK)
    assert git(repo, "show", f":{NOTEBOOK}").stdout.encode() == original, "the index must hold the tidy notebook"
    assert stored.read_bytes() == saved, "git add must not change the file in the working tree"
    result = pre_commit(repo)
    assert result.returncode == 0, result.stdout


def test_unstaged_work_in_a_staged_notebook_survives_the_hooks(tmp_path):
    """A notebook staged, then changed again by JupyterLab's autosave (not staged): pre-commit sets the unstaged part
    aside while the hooks run and puts it back afterwards. The hooks must not change the index, or putting it back
    fails; here the unsaved edit must be in the file afterwards, with and without the filter."""
    for clean_filter in (True, False):
        repo = scratch_repo(tmp_path / str(clean_filter), clean_filter=clean_filter)
        stored = repo / NOTEBOOK
        jupyterlab_save(stored)
        git(repo, "add", NOTEBOOK)
        jupyterlab_save(stored, extra_source="# MY UNSAVED WORK")  # autosave after staging
        result = pre_commit(repo)
        assert "An unexpected error" not in result.stdout + result.stderr, result.stdout + result.stderr
        assert "# MY UNSAVED WORK" in stored.read_text(encoding="utf-8"), "unstaged work was lost"
        assert "MY UNSAVED WORK" not in git(repo, "show", f":{NOTEBOOK}").stdout, "an unstaged edit must not be staged"
