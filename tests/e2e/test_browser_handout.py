"""The handout (`make handout`) as files and in a real browser. Built here: the student edition without its PDF,
and the instructor edition's all.html, the page its PDF is printed from (every notebook and every solution); the
instructor's per-page HTML comes from the same template and code as the student's.

- Every student page's HTML: no solution, plots embedded, navigation, nothing to fetch from another machine.
- In headless Chromium (Debian's /usr/bin/chromium, driven by playwright): the instructor all.html (all the math
  and all the solutions), the first student page and the student index: no failed request, no request off the
  machine, no console error, no broken image, math typeset without a TeX error (no raw $...$ left).
- Printing: the first student page, once typeset, printed to PDF by save_pdf, the printing step of make handout's
  print_pdf (which prints all.html).
- A screenshot of every page opened lands in handout/screenshots/ (git-ignored): look at them.
- The student notebooks have no solutions and empty exercises.

Without Chromium these tests skip and say how to install it, unless CI is set: then a missing browser fails.
"""

import re
import shutil

import nbformat
import pytest

from browser import ROOT, SCREENSHOTS, WAIT_SECONDS, chromium, chromium_browser, handout, new_page, wait_until

MATHJAX_DONE = handout.MATHJAX_DONE

NOTEBOOKS = handout.course_notebooks()
ALL_PAGES = [("student", nb.stem + ".html") for nb in NOTEBOOKS]
PAGES = [("instructor", "all.html"), ("student", NOTEBOOKS[0].stem + ".html"), ("student", "index.html")]


@pytest.fixture(scope="module")
def browser(built):
    with chromium_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    chromium()
    out = tmp_path_factory.mktemp("handout") / "handout"
    assert handout.main(["--out", str(out), "--no-pdf", "--edition", "student"]) == 0
    (out / "instructor").mkdir()
    shutil.copytree(out / "student" / "mathjax", out / "instructor" / "mathjax")
    handout.write_combined_page([(p, nbformat.read(p, as_version=4)) for p in NOTEBOOKS], out / "instructor" / "all.html",
                                handout.exporter())  # what make handout prints the instructor PDF from
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return out


def open_page(browser, url):
    """Open ``url``; return the page and the lists of console errors, failed requests and off-machine requests."""
    page = new_page(browser, viewport={"width": 1200, "height": 900})
    problems = {"console errors": [], "failed requests": [], "requests off this machine": []}
    page.on("console", lambda m: problems["console errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["console errors"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed requests"].append(r.url))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems["requests off this machine"].append(r.url))
    page.goto(url, wait_until="load")
    return page, problems


@pytest.fixture(scope="module")
def opened(built, browser):
    """Open a page once (and wait for MathJax) for all the tests that look at it: (page, problems)."""
    pages = {}

    def page_of(version, name):
        if (version, name) not in pages:
            pages[version, name] = open_page(browser, (built / version / name).as_uri())
            if name != "index.html":  # the whole course on one page typesets for longest: 20-40 s on 2 busy cores
                wait_until(pages[version, name][0], MATHJAX_DONE, f"MathJax to typeset {version}/{name}",
                           seconds=120 if name == "all.html" else WAIT_SECONDS)
        return pages[version, name]

    return page_of


@pytest.mark.parametrize("version, name", PAGES, ids=[f"{v}/{n}" for v, n in PAGES])
def test_handout_page(opened, version, name):
    page, problems = opened(version, name)
    page.screenshot(path=str(SCREENSHOTS / f"{version}_{name}.png"))
    assert not any(problems.values()), problems
    broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 60))")
    assert not broken, f"broken images: {broken}"
    if name == "index.html":
        links = page.evaluate("[...document.querySelectorAll('table a')].map(a => a.getAttribute('href'))")
        assert links == [nb.stem + ".html" for nb in NOTEBOOKS]
        return
    assert page.evaluate("document.images.length") > 0, "no plot on the page"
    raw = page.evaluate("[...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText).join('\\n')")
    assert "$" not in raw, f"untypeset math: {raw[max(0, raw.find('$') - 40):raw.find('$') + 40]!r}"
    assert page.evaluate("document.querySelectorAll('.MathJax').length") > 0
    tex_errors = page.evaluate("[...document.querySelectorAll('.merror, .MathJax_Error')].map(e => e.textContent)")
    assert not tex_errors, f"TeX errors: {tex_errors}"
    if name == "all.html":
        n_solutions = sum(handout.is_solution(c) for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells)
        assert page.evaluate("document.querySelectorAll('.celltag_solution').length") == n_solutions
        assert page.evaluate("document.querySelectorAll('.jp-RenderedMarkdown h1').length") >= len(NOTEBOOKS)


@pytest.mark.parametrize("version, name", ALL_PAGES, ids=[f"{v}/{n}" for v, n in ALL_PAGES])
def test_page_html(built, version, name):
    text = (built / version / name).read_text(encoding="utf-8")
    nb = nbformat.read(ROOT / "notebooks" / name.replace(".html", ".ipynb"), as_version=4)
    n_solutions = sum(handout.is_solution(c) for c in nb.cells)
    assert n_solutions >= 2
    assert len(re.findall(r'class="[^"]*\bcelltag_solution\b', text)) == (n_solutions if version == "instructor" else 0)
    assert re.search(r'<img[^>]+src="data:image/png;base64,', text), "no embedded plot"
    remote = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"', text)
    assert not remote, f"the page would fetch from another machine: {remote}"
    assert re.search(r'<nav class="course-nav">.*href="index.html"', text), "no navigation"


def test_a_page_prints_to_pdf(built, opened):
    """The first student page, as the test above opened and typeset it, printed by save_pdf: the step of print_pdf
    that prints (print_pdf opens all.html, waits for MathJax as `opened` does, then calls it; `make handout`)."""
    page, _ = opened("student", NOTEBOOKS[0].stem + ".html")
    handout.save_pdf(page, built / "student" / "course.pdf")
    data = (built / "student" / "course.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 3, f"the PDF has only {pages} pages"


def test_student_notebooks_have_no_solutions_and_unsolved_exercises(built):
    folder = built / "student" / "notebooks"
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert (folder / "softmax_ce" / "functional.py").exists() and (built / "student" / "images").is_dir()
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert not any(handout.is_solution(c) for c in nb.cells)
        exercises = [c for c in nb.cells if handout.is_exercise(c)]
        assert exercises and all(not c.outputs for c in exercises)
