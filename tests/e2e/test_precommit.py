"""The maintainers' pre-commit hooks (.pre-commit-config.yaml), run for real on a copy of the repository:
ruff stops a lint error, and the metadata hook tidies a notebook that JupyterLab touched, keeping its outputs."""

import json
import os
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)


def pre_commit(repo, *files):
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    return subprocess.run([str(VENV / "bin" / "pre-commit"), "run", "--color", "never", "--files", *files],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=120)


def test_hooks_catch_lint_and_tidy_notebook_metadata_without_touching_outputs(tmp_path):
    repo = tmp_path / "course"  # the files the hooks read, and the ones this commit stages
    for name in [".pre-commit-config.yaml", "pyproject.toml", "tools/outputs.py", "notebooks/02_cross_entropy.ipynb"]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    (repo / ".venv").symlink_to(VENV)
    git(repo, "init", "-q")

    stored = repo / "notebooks" / "02_cross_entropy.ipynb"
    original = stored.read_bytes()
    nb = json.loads(original)
    nb["metadata"]["language_info"]["version"] = "3.11.9"  # what a JupyterLab save writes
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb["cells"][2]["metadata"]["execution"] = {"iopub.status.idle": "2026-11-23T10:00:00.000Z"}
    solution = next(c for c in nb["cells"] if "solution" in c["metadata"].get("tags", []))
    del solution["metadata"]["jupyter"]  # a maintainer opened a solution to edit it
    nb["cells"][3]["metadata"].update(scrolled=True, jupyter={"source_hidden": True})  # and folded another cell
    stored.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (repo / "tools" / "scratch.py").write_text("import os\n")  # F401: imported but unused
    git(repo, "add", "-A")

    changed = ["notebooks/02_cross_entropy.ipynb", "tools/scratch.py", "tools/outputs.py"]  # as a commit would stage them
    first = pre_commit(repo, *changed)
    assert first.returncode == 1, first.stdout
    assert "F401" in first.stdout and "scratch.py" in first.stdout
    assert "tidied and staged notebooks/02_cross_entropy.ipynb" in first.stdout
    assert stored.read_bytes() == original, "the hook must restore exactly the stored notebook, outputs included"
    staged = git(repo, "show", ":notebooks/02_cross_entropy.ipynb").stdout.encode()
    assert staged == original, "the hook must stage the tidy notebook, so the commit takes it"

    (repo / "tools" / "scratch.py").unlink()
    git(repo, "add", "-A")
    second = pre_commit(repo, *changed[:1], *changed[2:])
    assert second.returncode == 0, second.stdout
