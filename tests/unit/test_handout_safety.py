"""tools/handout.py replaces only what it made: an edition folder with its mark, built beside and swapped in.

`--out .` or a folder of the learner's must never be wiped, the browser tests' handout/screenshots/ survive a
`make handout`, and a build that fails half way leaves the previous edition as it was.
"""

import pathlib

import pytest

import handout  # tools/handout.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def out(tmp_path):
    (tmp_path / "screenshots").mkdir()
    (tmp_path / "screenshots" / "lab.png").write_bytes(b"\x89PNG keep me")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    return tmp_path


def kept(out):
    return (out / "screenshots" / "lab.png").read_bytes() == b"\x89PNG keep me" and \
        (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_build_keeps_everything_else_in_the_folder(out):
    assert handout.main(["--out", str(out), "--no-pdf", "--stored-figures", "--edition", "student"]) == 0
    assert kept(out) and (out / "student" / handout.MARK).exists() and (out / "student" / "index.html").exists()
    assert not list(out.glob(".student.*")), "no staging folder may stay behind"


def test_a_folder_the_tool_did_not_make_is_refused_untouched(out):
    (out / "student").mkdir()
    (out / "student" / "essay.md").write_text("my own", encoding="utf-8")
    with pytest.raises(SystemExit, match="not a folder tools/handout.py made"):
        handout.main(["--out", str(out), "--no-pdf", "--stored-figures", "--edition", "student"])
    assert (out / "student" / "essay.md").read_text(encoding="utf-8") == "my own" and kept(out)


def test_a_failed_build_leaves_the_previous_edition(out, monkeypatch):
    previous = out / "student"
    previous.mkdir()
    (previous / handout.MARK).write_text("", encoding="utf-8")
    (previous / "index.html").write_text("the previous build", encoding="utf-8")

    def broken(version, notebooks, folder, *args):
        (folder / "index.html").write_text("half", encoding="utf-8")
        raise RuntimeError("a notebook failed to export")

    monkeypatch.setattr(handout, "fill_version", broken)
    with pytest.raises(RuntimeError):
        handout.main(["--out", str(out), "--no-pdf", "--stored-figures", "--edition", "student"])
    assert (previous / "index.html").read_text(encoding="utf-8") == "the previous build"
    assert not list(out.glob(".student.*")) and kept(out)

    monkeypatch.setattr(handout, "fill_version", lambda v, n, folder, *args: (folder / "index.html").write_text("new"))
    assert handout.main(["--out", str(out), "--no-pdf", "--stored-figures", "--edition", "student"]) == 0
    assert (previous / "index.html").read_text(encoding="utf-8") == "new" and kept(out)
