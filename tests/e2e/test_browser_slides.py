"""The slides (`make slides`, tools/slides.py): the rule that cuts a notebook into slides, the build's safety, and
two decks (01 and 02, built into a temporary folder) in headless Chromium: nothing fetched from another machine, no
failed request, no console error; reveal.js running and answering the keyboard; math typeset, figures with their
own alt text, speaker notes for long prose, slides that fit the screen. Screenshots of the title slide, a slide
with math, one with a figure and a code fragment land in handout/screenshots/slides_*.png (git-ignored): look at
them.

Without Chromium the browser tests skip and say how to install it, unless CI is set: then a missing browser fails.
"""

import base64
import copy
import re
import struct

import nbformat
import pytest

import slides  # tools/slides.py
from browser import ROOT, SCREENSHOTS, chromium, chromium_browser, handout, new_page, wait_until

DECKS = ["01_softmax", "02_cross_entropy"]
SHOWN = "01_softmax"  # the deck opened in the browser
READY = f"() => window.Reveal && Reveal.isReady() && ({handout.MATHJAX_DONE})()"

# ----------------------------------------------------------------------------- the slide structure rule


def code(source, lines_out=1):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="out\n" * lines_out)]
    return cell


LONG_PROSE = ("This first sentence stays on the slide. " + "The rest goes to the notes, word after word. " * 12
              + "\n\n$$a = b$$")


def synthetic():
    """A small notebook with one cell of every kind the rule tells apart."""
    md = nbformat.v4.new_markdown_cell
    return nbformat.v4.new_notebook(cells=[
        md("# 99 · A title\n\nOne short sentence."),
        code("x = 1\nprint(x)"),
        md("## 1. A section\n\n### 1.1 Right under it\n\nA short paragraph."),
        code("y = 2\nprint(y)"),
        md("Short prose after a fragment."),
        md("### 1.2 Another part"),
        md("Short prose, then a long cell."),
        code("\n".join(f"z{i} = {i}" for i in range(20)), lines_out=2),
        md(LONG_PROSE),
        md("## 2. Next section"),
        code("print('short')"),
    ])


def test_slide_types_follow_the_headings_and_the_sizes_of_the_cells():
    """Headings start slides (### a subslide, except right under a heading); code is a fragment, a long cell a
    subslide headed with its section; long prose becomes notes, its first sentence and equation staying."""
    got = [(kind, cell.source.split("\n")[0][:40]) for cell, kind in slides.slide_types(synthetic())]
    assert got == [
        ("slide", "# 99 · A title"),
        ("-", "One short sentence."),
        ("fragment", "x = 1"),
        ("slide", "## 1. A section"),
        ("-", "### 1.1 Right under it"),           # right under its heading: the same slide
        ("-", "A short paragraph."),
        ("fragment", "y = 2"),
        ("fragment", "Short prose after a fragment."),  # after a fragment, the rest comes step by step
        ("subslide", "### 1.2 Another part"),
        ("-", "Short prose, then a long cell."),
        ("subslide", "1\\.2 Another part (continued)"),  # a long cell: a slide of its own, headed with its section
        ("-", "z0 = 0"),
        ("subslide", "1\\.2 Another part (continued)"),  # would not fit under the long cell ("1\\.": not a list)
        ("-", "This first sentence stays on the slide."),
        ("notes", "This first sentence stays on the slide. "),
        ("slide", "## 2. Next section"),
        ("fragment", "print('short')"),
    ]
    cells = [cell.source for cell, _ in slides.slide_types(synthetic())]
    assert cells[13] == "This first sentence stays on the slide.\n\n$$a = b$$"  # and its equation
    assert cells[14] == LONG_PROSE  # the notes keep the whole text


PNG_640_300 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 640, 300)
                               + bytes(5)).decode()  # a PNG's header: 640 x 300 pixels


def test_a_long_cell_that_draws_a_figure_shows_it_on_the_next_slide():
    """Code and text output on one slide, the figure (without the code) on the next, headed with the section."""
    cell = code("\n".join(f"a{i} = {i}" for i in range(18)))
    cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": PNG_640_300, "text/plain": "fig"}))
    assert slides.png_size(PNG_640_300) == (640, 300)
    got = [(kind, c.metadata.get("output_only", False), len(c.get("outputs", [])))
           for c, kind in slides.slide_types(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), cell]))]
    assert got == [("slide", False, 0), ("fragment", False, 1), ("subslide", False, 0), ("-", True, 1)]


def test_decks_leave_out_solutions_and_leave_the_notebooks_as_they_are():
    path = ROOT / "notebooks" / f"{SHOWN}.ipynb"
    nb = nbformat.read(path, as_version=4)
    stored = copy.deepcopy(nb)
    deck = slides.with_slides(nb, "01")
    assert nb == stored, "with_slides changed the notebook it was given"
    assert not any("slideshow" in c.metadata for c in stored.cells), "slide metadata belongs in the build, not the notebook"
    assert sum(handout.is_solution(c) for c in stored.cells) >= 2
    assert not any(handout.is_solution(c) for c in deck.cells)
    assert all(c.metadata.slideshow.slide_type in {"slide", "subslide", "fragment", "notes", "skip", "-"} for c in deck.cells)
    assert "solutions" in deck.cells[1].source and "left out" in deck.cells[1].source  # under the title


# ----------------------------------------------------------------------------- the build


def test_the_build_replaces_only_a_folder_it_made(tmp_path):
    out = tmp_path / "slides"
    out.mkdir()
    (out / "mine.txt").write_text("not the tool's", encoding="utf-8")
    with pytest.raises(SystemExit, match="is not a folder tools/slides.py made"):
        slides.build(out, [], b"")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert not (tmp_path / ".slides.partial").exists()
    with pytest.raises(SystemExit, match="no notebook 42"):
        slides.select(handout.course_notebooks(), ["42"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Decks 01 and 02 built into a temporary handout/slides/, beside an edition folder that must stay."""
    chromium()
    root = tmp_path_factory.mktemp("handout") / "handout"
    (root / "student").mkdir(parents=True)
    (root / "student" / "keep.txt").write_text("the handout's", encoding="utf-8")
    out = root / "slides"
    assert slides.main(["--out", str(out), "--only", *[d[:2] for d in DECKS]]) == 0
    assert slides.main(["--out", str(out), "--only", SHOWN]) == 0  # once more: the first build is swapped out
    assert slides.main(["--out", str(out), "--only", *DECKS]) == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return out


def test_built_folder(built):
    assert sorted(p.name for p in built.parent.iterdir()) == ["slides", "student"], "the build left something beside it"
    assert (built.parent / "student" / "keep.txt").exists()
    assert (built / slides.MARK).exists()
    index = (built / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'href="(\d\d_\w+\.slides\.html)"', index) == [f"{d}.slides.html" for d in DECKS]
    assert all((built / f"{d}.slides.html").exists() for d in DECKS)
    assert "Permission is hereby granted" in (built / "reveal.js" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT" in (built / "reveal.js" / "README.txt").read_text(encoding="utf-8")
    tarball = slides.cache_folder() / f"reveal.js-{slides.REVEAL_VERSION}.tgz"
    assert slides.integrity_of(tarball.read_bytes()) == slides.REVEAL_INTEGRITY
    for path in [*built.glob("*.html"), *(built / "reveal.js").rglob("*.css")]:
        text = path.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"', text)
        remote += re.findall(r"(?:@import\s+url|url)\(\s*['\"]?((?:https?:)?//[^)'\"]+)", text)
        assert not remote, f"{path.name} would fetch from another machine: {remote}"


# ----------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def deck(built):
    """The deck of SHOWN opened in headless Chromium: (page, problems), every request and console error kept."""
    with chromium_browser() as browser:
        page = new_page(browser, viewport={"width": 1280, "height": 720})
        problems = {"console errors": [], "failed requests": [], "requests off this machine": []}
        page.on("console", lambda m: problems["console errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems["console errors"].append(str(e)))
        page.on("requestfailed", lambda r: problems["failed requests"].append(r.url))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                else problems["requests off this machine"].append(r.url))
        page.goto((built / f"{SHOWN}.slides.html").as_uri(), wait_until="load")
        wait_until(page, READY, "reveal.js to start and MathJax to typeset")
        yield page, problems


def show(page, indices, what):
    """Go to the slide at ``indices`` and wait until it is typeset and fitted to the screen."""
    page.evaluate("ix => Reveal.slide(ix.h, ix.v, ix.f)", indices)
    wait_until(page, READY + " && !!Reveal.getCurrentSlide().dataset.fitScale", f"the {what} slide to settle")
    wait_until(page, SHOWN_FRAGMENTS, f"the {what} slide's fragments to fade in")


# reveal.js fades fragments in: a screenshot waits until every fragment shown is opaque
SHOWN_FRAGMENTS = ("() => [...Reveal.getCurrentSlide().querySelectorAll('.fragment.visible')]"
                   ".every(f => getComputedStyle(f).opacity === '1')")


FITS = "() => { const s = Reveal.getCurrentSlide(); return !s.classList.contains('slide-scroll') " \
       "&& s.getBoundingClientRect().bottom <= window.innerHeight + 1 }"


def test_deck_opens_offline_and_answers_the_keyboard(deck):
    page, problems = deck
    assert page.evaluate("Reveal.getTotalSlides()") > 10
    assert page.evaluate("Reveal.getIndices()") == {"h": 0, "v": 0, "f": None}
    wait_until(page, "() => Reveal.getCurrentSlide().dataset.fitScale", "the title slide to be fitted")
    text = page.evaluate("Reveal.getCurrentSlide().innerText")
    assert "left out" in text and "solution" in text, "the title slide must say the solutions are left out"
    assert page.evaluate(FITS)
    page.screenshot(path=str(SCREENSHOTS / "slides_title.png"))

    page.keyboard.press("ArrowRight")  # linear navigation: the slide below the title (the goals)
    wait_until(page, "() => Reveal.getIndices().v === 1", "ArrowRight to go to the next slide")
    assert page.evaluate("Reveal.getIndices()") == {"h": 0, "v": 1, "f": None}
    show(page, {"h": 1, "v": 0}, "first section's")  # its fragments still hidden
    assert page.evaluate("Reveal.getCurrentSlide().querySelectorAll('.fragment.visible').length") == 0
    page.keyboard.press("ArrowRight")  # its first fragment: a code cell with its output
    wait_until(page, "() => Reveal.getIndices().f === 0", "ArrowRight to show the first fragment")
    wait_until(page, SHOWN_FRAGMENTS, "the fragment to fade in")
    shown = page.evaluate("[...Reveal.getCurrentSlide().querySelectorAll('.fragment.visible')].map(f => f.innerText)")
    assert len(shown) == 1 and page.evaluate("!!Reveal.getCurrentSlide().querySelector('.fragment.visible .jp-CodeCell')")
    assert page.evaluate(FITS)
    page.screenshot(path=str(SCREENSHOTS / "slides_code_fragment.png"))
    assert not any(problems.values()), problems


def test_math_is_typeset(deck):
    page, problems = deck
    where = page.evaluate("Reveal.getIndices([...document.querySelectorAll('.slide-body')]"
                          ".find(b => b.querySelector('.MathJax') && b.querySelector('.MathJax_Display')).parentElement)")
    show(page, {**where, "f": 99}, "math")
    visible = page.evaluate("(() => { const c = Reveal.getCurrentSlide().cloneNode(true);"
                            " c.querySelectorAll('aside.notes, pre, code, script').forEach(e => e.remove());"
                            " return c.innerText; })()")
    assert "$" not in visible and "\\frac" not in visible, f"untypeset math: {visible[:300]!r}"
    assert page.evaluate("Reveal.getCurrentSlide().querySelectorAll('.MathJax').length") > 0
    assert not page.evaluate("[...document.querySelectorAll('.merror, .MathJax_Error')].map(e => e.textContent)")
    assert page.evaluate(FITS)
    page.screenshot(path=str(SCREENSHOTS / "slides_math.png"))
    assert not any(problems.values()), problems


def test_figures_carry_their_alt_text(deck):
    page, problems = deck
    nb = nbformat.read(ROOT / "notebooks" / f"{SHOWN}.ipynb", as_version=4)
    alts = {o.metadata["image/png"]["alt"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "image/png" in o.get("data", {})}
    shown = page.evaluate("[...document.querySelectorAll('.jp-RenderedImage img')].map(i => i.alt)")
    assert shown and set(shown) == alts, "every figure of the notebook, with the alt text it was drawn with"
    where = page.evaluate("Reveal.getIndices(document.querySelector('.jp-RenderedImage img').closest('section'))")
    show(page, {**where, "f": 99}, "figure")
    wait_until(page, "() => [...Reveal.getCurrentSlide().querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)",
               "the figure to load")
    box = page.evaluate("(() => { const r = Reveal.getCurrentSlide().querySelector('.jp-RenderedImage img')"
                        ".getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom, r.width]; })()")
    assert box[4] > 300 and box[0] >= 0 and box[1] <= 1280 and box[3] <= 720, f"the figure is cut off or tiny: {box}"
    assert page.evaluate(FITS)
    page.screenshot(path=str(SCREENSHOTS / "slides_figure.png"))
    assert not any(problems.values()), problems


def test_long_prose_is_in_the_speaker_notes(deck):
    page, _ = deck
    nb = handout.student_copy(nbformat.read(ROOT / "notebooks" / f"{SHOWN}.ipynb", as_version=4))
    notes = [c.source for c, kind in slides.slide_types(nb) if kind == "notes"]
    assert page.evaluate("document.querySelectorAll('aside.notes').length") == len(notes) > 0
    plain = [b for n in notes for b in slides.blocks(n)[1:] if slides.kind(b) == "text" and not re.search(r"[$`*\[_]", b)]
    words = " ".join(plain[0].split()[-6:])  # the end of a paragraph that is in the notes only
    in_notes = page.evaluate("[...document.querySelectorAll('aside.notes')].map(a => a.textContent).join(' ')")
    on_slides = page.evaluate("(() => { const c = document.querySelector('.slides').cloneNode(true);"
                              " c.querySelectorAll('aside.notes').forEach(e => e.remove()); return c.textContent; })()")
    assert words in " ".join(in_notes.split()) and words not in " ".join(on_slides.split())
    assert page.evaluate("Reveal.getSlideNotes(Reveal.getSlides().find(s => s.querySelector('aside.notes')))")
