"""tools/course.py, behind `make setup` / `make lab` / `make test`: it checks before it touches, and never loses .venv.

Each case runs the real script in a scratch copy of the course (the script, requirements.txt, the uv wheel table)
whose .venv is a stand-in with a file in it, and checks what it printed and that the stand-in is still there.
The real build (uv, both interpreters) runs in CI (.ci/run) and in benchmarks/setup_time.py.
"""

import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import course  # tools/course.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path):
    """A scratch course with a working-looking .venv (a stamp for another requirements.txt, and a file to lose)."""
    (tmp_path / "tools" / "jupyterlab").mkdir(parents=True)
    (tmp_path / "notebooks" / "softmax_ce").mkdir(parents=True)
    for name in ("tools/course.py", "tools/uv-wheels.txt", "tools/jupyterlab/overrides.json", "requirements.txt",
                 "pyproject.toml", "notebooks/softmax_ce/__init__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n", encoding="utf-8")
    (venv / course.STAMP_NAME).write_text(json.dumps({"requirements_sha256": "0" * 64, "torch": "default"}), encoding="utf-8")
    (venv / "my-work.txt").write_text("the learner's venv", encoding="utf-8")
    return tmp_path


def run(copy, *args, python_version=None, env=None):
    """Run the copy's course.py; ``python_version`` pretends to be another interpreter."""
    pretend = f"sys.version_info = {python_version!r}; " if python_version else ""
    code = f"import runpy, sys; {pretend}sys.argv = ['course.py', *{list(args)!r}]; runpy.run_path('tools/course.py', run_name='__main__')"
    from uv import find_uv_bin

    path = os.pathsep.join([os.path.dirname(find_uv_bin()), os.environ.get("PATH", "")])  # the pinned uv, no download
    result = subprocess.run([sys.executable, "-c", code], cwd=copy, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PATH": path, **(env or {})})
    return result.returncode, result.stdout + result.stderr


def untouched(copy):
    return ((copy / ".venv" / "my-work.txt").read_text(encoding="utf-8") == "the learner's venv"
            and not (copy / ".venv.partial").exists() and not (copy / ".venv.old").exists())


@pytest.mark.parametrize("version", [(3, 9, 18, "final", 0), (3, 10, 12, "final", 0), (3, 15, 0, "final", 0)])
def test_an_unsupported_python_gets_one_line_and_nothing_is_touched(copy, version):
    code, out = run(copy, "setup", python_version=version)
    shown = ".".join(map(str, version[:3]))
    assert code == 2 and out.count("\n") == 1, out
    assert f"CPython {shown}" in out and "3.11.0 to 3.14" in out and "PYTHON=" in out
    assert untouched(copy)


def test_the_supported_range_is_3_11_0_to_3_14():
    for version in [(3, 11, 0), (3, 11, 2), (3, 12, 7), (3, 13, 1), (3, 14, 0), (3, 14, 9)]:
        course.check_python(version, "CPython", "python3")
    for version, implementation in [((3, 10, 14), "CPython"), ((3, 15, 0), "CPython"), ((3, 11, 9), "PyPy")]:
        with pytest.raises(course.SetupError, match="needs CPython 3.11.0 to 3.14"):
            course.check_python(version, implementation, "python3")
    with pytest.raises(course.SetupError, match="32-bit Python: PyTorch needs a 64-bit one"):
        course.check_python((3, 12, 1), "CPython", "python.exe", bits=32)
    with pytest.raises(course.SetupError, match="free-threaded build"):
        course.check_python((3, 14, 0), "CPython", "python3.14t", free_threaded=True)


def test_no_network_gets_one_line_and_nothing_is_touched(copy):
    code, out = run(copy, "setup", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple/", "UV_INDEX_URL": ""})
    assert code == 2 and out.count("\n") == 1, out
    assert "cannot reach http://127.0.0.1:9/simple/" in out and "connect to the internet" in out
    assert untouched(copy)


def test_a_failed_install_keeps_the_venv_you_had(copy):
    with open(copy / "requirements.txt", "a", encoding="utf-8") as f:
        f.write("no-such-package-for-the-course==1.0\n")
    code, out = run(copy, "setup")
    assert code == 2, out
    assert "installing the packages failed" in out and "your .venv is unchanged" in out
    assert "no-such-package-for-the-course" in out, "the log's tail should show what failed"
    assert untouched(copy)
    assert (copy / ".venv.partial.log").exists(), "the full log stays for the learner to read"


def test_a_venv_the_course_did_not_make_is_not_replaced(copy):
    (copy / ".venv" / course.STAMP_NAME).unlink()
    code, out = run(copy, "setup")
    assert code == 2 and "has no requirements.installed" in out
    assert untouched(copy)


def current_stamp(copy, torch):
    """The stamp of a .venv set up from this copy's requirements.txt, its editable install pointing into the copy."""
    return {"requirements_sha256": hashlib.sha256((copy / "requirements.txt").read_bytes()).hexdigest(), "torch": torch,
            "package": str(copy / "notebooks")}


@pytest.mark.parametrize("name", [".venv.old", ".venv.partial"])
def test_a_leftover_name_the_course_did_not_make_is_not_deleted(copy, name):
    (copy / name).mkdir()
    (copy / name / "notes.txt").write_text("mine", encoding="utf-8")
    code, out = run(copy, "setup")
    assert code == 2 and f"{name} is in the way and was not made by the course's set-up" in out, out
    assert (copy / name / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (copy / ".venv" / "my-work.txt").exists()


def test_an_interrupted_swap_is_undone(copy):
    """Killed between its two renames, a set-up leaves the working env at .venv.old: the next run puts it back."""
    stamp = current_stamp(copy, "default")
    (copy / ".venv" / course.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
    (copy / ".venv").rename(copy / ".venv.old")
    code, out = run(copy, "setup", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"})
    assert code == 0 and "put it back" in out, out
    assert untouched(copy)


def test_a_password_in_the_index_address_is_not_printed():
    with pytest.raises(course.SetupError) as err:
        course.check_network("http://me:secret@127.0.0.1:9/simple/", timeout=5)
    assert "secret" not in str(err.value) and "127.0.0.1:9/simple/" in str(err.value)


def test_an_up_to_date_venv_needs_no_network(copy):
    stamp = current_stamp(copy, "cpu")
    (copy / ".venv" / course.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
    code, out = run(copy, "setup", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"})
    assert code == 0 and out == "", out
    assert untouched(copy)
    assert (copy / ".venv/share/jupyter/lab/settings/overrides.json").read_bytes() == (ROOT / "tools/jupyterlab/overrides.json").read_bytes()


def test_another_interpreter_rebuilds_only_when_named(copy):
    """`make lab PYTHON=python3.13` on a .venv built by another Python rebuilds it; plain `make test` does not."""
    stamp = {**current_stamp(copy, "default"), "python": "CPython 3.12.7 /somewhere/else/python3.12"}
    (copy / ".venv" / course.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
    offline = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"}
    assert run(copy, "setup", env=offline) == (0, "")
    code, out = run(copy, "setup", "--this-python", env=offline)
    assert code == 2 and "cannot reach" in out, "a named interpreter that did not build .venv should rebuild it"
    assert untouched(copy)


def test_the_torch_build_is_remembered():
    assert course.install_commands(pathlib.Path("uv"), "cpu")[1][-2:] == ["--torch-backend", "cpu"]
    assert "--torch-backend" not in course.install_commands(pathlib.Path("uv"), "default")[1]
    assert course.install_commands(None, "cpu")[1][-2:] == ["--extra-index-url", course.TORCH_CPU_INDEX]


def test_pip_settings_reach_uv(monkeypatch):
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://a.example/simple https://b.example/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    assert course.pip_settings_for_uv() == ["--index-url", "https://mirror.example/simple",
                                            "--extra-index-url", "https://a.example/simple",
                                            "--extra-index-url", "https://b.example/simple", "--find-links", "/opt/wheels"]
    monkeypatch.setenv("UV_FIND_LINKS", "/elsewhere")
    assert "--find-links" not in course.pip_settings_for_uv()


def test_the_uv_wheel_table_matches_the_pin_and_every_platform():
    version = course.pinned("uv")
    lines = [line.split() for line in (ROOT / "tools/uv-wheels.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert all(name.startswith(f"uv-{version}-") and len(sha) == 64 and url.endswith("/" + name) for name, sha, url in lines), (
        "tools/uv-wheels.txt must list the wheels of the uv that requirements.txt pins (take them from pypi.org/simple/uv/)")
    for tag in ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_1_x86_64", "macosx_11_0_arm64", "win_amd64"):
        assert course.uv_wheel(tag), f"no uv wheel for {tag}"


def test_a_uv_wheel_with_the_wrong_hash_is_refused(monkeypatch, tmp_path):
    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(course.urllib.request, "urlopen", lambda url, timeout: Response(b"not the wheel"))
    monkeypatch.setattr(course, "wheel_tag", lambda: "manylinux_2_17_x86_64")
    with pytest.raises(course.SetupError, match="does not have the SHA-256"):
        course.download_uv(tmp_path, course.pinned("uv"))
    assert not list(tmp_path.iterdir())


def test_an_old_python_can_read_the_script_to_say_it_is_too_old():
    """The interpreter check must run on the Python a learner has, so the file parses as Python 3.6 did."""
    import ast

    ast.parse((ROOT / "tools" / "course.py").read_text(encoding="utf-8"), feature_version=(3, 6))


def test_a_swap_that_fails_half_way_puts_the_old_venv_back(monkeypatch, tmp_path):
    for name, sub in (("VENV", ".venv"), ("PARTIAL", ".venv.partial"), ("OLD", ".venv.old")):
        monkeypatch.setattr(course, name, tmp_path / sub)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "my-work.txt").write_text("the learner's venv", encoding="utf-8")
    (tmp_path / ".venv.partial").mkdir()
    (tmp_path / ".venv.partial" / course.PARTIAL_MARK).write_text("", encoding="utf-8")
    rename = pathlib.Path.rename

    def failing(self, target):
        if self.name == ".venv.partial":
            raise PermissionError("locked by another program")
        return rename(self, target)

    monkeypatch.setattr(pathlib.Path, "rename", failing)
    with pytest.raises(course.SetupError, match="your .venv is unchanged"):
        course.swap()
    assert untouched(tmp_path)
