"""The handout (`make handout`) as files, in a real browser and as a printed PDF. Built here: the student edition
with its PDF (from the stored figures, `--stored-figures`, to save the re-run), and the instructor edition's
all.html, the page its PDF is printed from (every notebook and every solution); the instructor's other pages come
from the same template and code as the student's.

- Every page's HTML: no solution in the student's, plots embedded with their own alt text (no placeholder), links
  to other notebooks that land, navigation, nothing to fetch from another machine.
- In headless Chromium (Debian's /usr/bin/chromium, driven by playwright): the instructor all.html (all the math
  and all the solutions), the first student page and the student index: no failed request, no request off the
  machine, no console error, no broken image, math typeset without a TeX error (no raw $...$ left), and every
  piece of text at a contrast of at least 4.5:1 against what is behind it (WCAG 2.1 AA; 3:1 for large text).
- The student PDF: tagged, in English, with bookmarks for every notebook; a cover that names the edition; a
  contents page whose numbers are the pages the notebooks start on; every code line of the student notebooks in
  its text (nothing cut off at the edge); no page less than 40% full unless the next one starts a notebook.
- The student pack: copied to an empty folder, a notebook runs there with its own helper package and images.
- A screenshot of every page opened lands in handout/screenshots/ (git-ignored): look at them.

Without Chromium these tests skip and say how to install it, unless CI is set: then a missing browser fails; the
same for poppler-utils (pdftotext, pdftoppm), which the PDF tests read the PDF with.
"""

import html
import os
import re
import shutil
import subprocess

import nbformat
import pytest

from browser import ROOT, SCREENSHOTS, WAIT_SECONDS, chromium, chromium_browser, handout, new_page, wait_until

MATHJAX_DONE = handout.MATHJAX_DONE

NOTEBOOKS = handout.course_notebooks()
ALL_PAGES = [("student", nb.stem + ".html") for nb in NOTEBOOKS]
PAGES = [("instructor", "all.html"), ("student", NOTEBOOKS[0].stem + ".html"), ("student", "index.html"),
         ("student", "summary.html"), ("instructor", "plan.html")]
WITHOUT_FIGURES = {"index.html", "summary.html", "plan.html"}
STUDENT_PDF = handout.EDITIONS["student"]["pdf"]


@pytest.fixture(scope="module")
def browser(built):
    with chromium_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    chromium()
    out = tmp_path_factory.mktemp("handout") / "handout"
    assert handout.main(["--out", str(out), "--stored-figures", "--edition", "student"]) == 0
    (out / "instructor").mkdir()
    shutil.copytree(out / "student" / "mathjax", out / "instructor" / "mathjax")
    handout.write_combined_page([(p, nbformat.read(p, as_version=4)) for p in NOTEBOOKS], out / "instructor" / "all.html",
                                handout.exporter(), "instructor")  # what make handout prints the instructor PDF from
    (out / "instructor" / "plan.html").write_text(handout.plan_html(NOTEBOOKS, handout.markdown2html_mistune,
                                                                    handout.MATHJAX_URL), encoding="utf-8")
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
            # the whole course on one page typesets for longest: 35 s idle, more on 2 busy cores
            wait_until(pages[version, name][0], MATHJAX_DONE, f"MathJax to typeset {version}/{name}",
                       seconds=150 if name == "all.html" else WAIT_SECONDS)
        return pages[version, name]

    return page_of


@pytest.mark.parametrize("version, name", PAGES, ids=[f"{v}/{n}" for v, n in PAGES])
def test_handout_page(opened, version, name):
    page, problems = opened(version, name)
    page.screenshot(path=str(SCREENSHOTS / f"{version}_{name}.png"))
    assert not any(problems.values()), problems
    broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 60))")
    assert not broken, f"broken images: {broken}"
    tex_errors = page.evaluate("[...document.querySelectorAll('.merror, .MathJax_Error')].map(e => e.textContent)")
    assert not tex_errors, f"TeX errors: {tex_errors}"
    if name == "index.html":
        links = page.evaluate("[...document.querySelectorAll('table a')].map(a => a.getAttribute('href'))")
        assert links == [link for nb in NOTEBOOKS for link in (nb.stem + ".html", f"notebooks/{nb.name}")]
        names = page.evaluate("[...document.querySelectorAll('a')].map(a => a.innerText.trim().toLowerCase())")
        vague = [n for n in names if n in {"", "here", "click here", "link", "notebook", "pdf", "more", "this"}]
        assert not vague, f"links whose words do not say where they go (WCAG 2.4.4): {vague}"
        text = page.evaluate("document.body.innerText")
        assert "$" not in text and "`" not in text, "untypeset math or markdown on the index page"
        for path in NOTEBOOKS:  # every goal, whole: its last words are on the page
            goals = handout.goals_markdown(nbformat.read(path, as_version=4))
            last_words = re.sub(r"[`*$\\{}_^]", "", goals.split()[-1])
            assert goals and last_words.rstrip(".;") in text, f"{path.name}'s 'What you will learn' is cut short"
        return
    if name in WITHOUT_FIGURES:
        text = page.evaluate("document.body.innerText")
        assert "$" not in text and "`" not in text, f"untypeset math or markdown on {name}"
        assert page.evaluate("document.querySelectorAll('.MathJax').length") > 0
        return
    assert page.evaluate("document.images.length") > 0, "no plot on the page"
    raw = page.evaluate("[...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText).join('\\n')")
    assert "$" not in raw, f"untypeset math: {raw[max(0, raw.find('$') - 40):raw.find('$') + 40]!r}"
    assert page.evaluate("document.querySelectorAll('.MathJax').length") > 0
    if name == "all.html":
        n_solutions = sum(handout.is_solution(c) for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells)
        assert page.evaluate("document.querySelectorAll('.celltag_solution').length") == n_solutions
        assert page.evaluate("document.querySelectorAll('.jp-RenderedMarkdown h1').length") >= len(NOTEBOOKS)
        dead = page.evaluate("[...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.getAttribute('href'))"
                             ".filter(h => h.length > 1 && !document.getElementById(h.slice(1))"
                             " && !document.getElementById(decodeURIComponent(h.slice(1))))")
        assert not dead, f"links inside the whole-course page that lead nowhere: {dead[:5]}"


# WCAG 2.1's contrast ratio of every visible text against the colours behind it (backgrounds blended up the tree).
CONTRAST = """() => {
  const rgba = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
                      const v = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
  const lum = c => c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; })
                    .reduce((s, x, i) => s + x * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = new Map();
  const background = el => {
    if (!el) return [255, 255, 255];
    if (behind.has(el)) return behind.get(el);
    const c = rgba(getComputedStyle(el).backgroundColor), under = background(el.parentElement);
    const bg = c && c[3] > 0 ? over(c, under) : under;
    behind.set(el, bg); return bg; };
  const found = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el.getClientRects().length) continue;
    if (el.closest('script, style, .MathJax_Preview, .MJX_Assistive_MathML, .course-nav')) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden') continue;
    const bg = background(el), fg = over(rgba(s.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a), ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const key = `${s.color} on rgb(${bg.map(Math.round)})`;
    if (ratio < (large ? 3 : 4.5) && !found.has(key))
      found.set(key, {ratio: Math.round(ratio * 100) / 100, text: n.textContent.trim().slice(0, 30), where: el.className});
  }
  return [...found.entries()];
}"""


@pytest.mark.parametrize("version, name", PAGES, ids=[f"{v}/{n}" for v, n in PAGES])
def test_every_text_has_enough_contrast(opened, version, name):
    page, _ = opened(version, name)
    low = page.evaluate(CONTRAST)
    assert not low, ("text below WCAG 2.1 AA's contrast (4.5:1, large text 3:1); darken these colours in "
                     f"tools/handout_template/course/index.html.j2: {low[:8]}")


@pytest.mark.parametrize("version, name", ALL_PAGES, ids=[f"{v}/{n}" for v, n in ALL_PAGES])
def test_page_html(built, version, name):
    text = (built / version / name).read_text(encoding="utf-8")
    nb = nbformat.read(ROOT / "notebooks" / name.replace(".html", ".ipynb"), as_version=4)
    n_solutions = sum(handout.is_solution(c) for c in nb.cells)
    assert n_solutions >= 2
    assert len(re.findall(r'class="[^"]*\bcelltag_solution\b', text)) == (n_solutions if version == "instructor" else 0)
    assert re.search(r'<img[^>]+src="data:image/png;base64,', text), "no embedded plot"
    remote = re.findall(r'<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"', text)
    assert not remote and "unpkg.com" not in text, f"the page would fetch from another machine: {remote}"
    assert re.search(r'<nav class="course-nav">.*href="index.html"', text), "no navigation"
    alts = re.findall(r'<img\b[^>]*?\balt="([^"]*)"', text)
    assert len(alts) == len(re.findall(r"<img\b", text)), "an image without alt text"
    assert all(a.strip() and a != handout.NO_ALT for a in alts), \
        f"an image without its own description: give every figure show(fig, alt='...'): {alts}"
    assert not re.search(r'href="\d\d_\w+\.ipynb', text), "a link to a notebook file instead of its page"


# ----------------------------------------------------------------------------- the PDF


def poppler(tool):
    path = shutil.which(tool)
    if path:
        return path
    message = f"no {tool}: install poppler-utils (`apt-get install poppler-utils`) to check the PDF"
    if os.environ.get("CI"):
        pytest.fail("CI is set but " + message)
    pytest.skip(message)


def pdf_text(path, first=None, last=None, raw=False):
    """The text of the PDF, or of pages first..last; ``raw``: in the order it was printed (code lines as written,
    where the default mode reorders wrapped lines and drops a hyphen at a line's end)."""
    args = [poppler("pdftotext"), *(["-raw"] if raw else []), *(["-f", str(first)] if first else []),
            *(["-l", str(last)] if last else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pdf(built):
    return built / "student" / STUDENT_PDF


def test_the_pdf_is_tagged_in_english_with_bookmarks(pdf):
    import pypdf

    reader = pypdf.PdfReader(str(pdf))
    root = reader.trailer["/Root"]
    assert root.get("/MarkInfo", {}).get("/Marked") and "/StructTreeRoot" in root, "not a tagged PDF"
    assert root.get("/Lang") == "en", "the document's language is not set"
    assert "Student edition" in reader.metadata.title
    top = [title for level, title, _ in handout.outline(pdf) if level == 1]
    titles = [handout.plain_title(nbformat.read(p, as_version=4)) for p in NOTEBOOKS]
    assert top == [html.unescape(handout.COURSE_TITLE), "Contents", *titles], "the bookmarks are not the notebooks"
    assert sum(level == 2 for level, _, _ in handout.outline(pdf)) >= 5 * len(NOTEBOOKS), "no bookmarks for sections"


def test_the_cover_names_the_edition_and_the_file_name_too(built, pdf):
    cover = " ".join(pdf_text(pdf, 1, 1).split())
    assert "Student edition" in cover and "Instructor" not in cover and "CC BY 4.0" in cover
    instructor = (built / "instructor" / "all.html").read_text(encoding="utf-8")
    assert "Instructor edition: contains solutions" in instructor.split('class="contents"')[0]
    assert STUDENT_PDF != handout.EDITIONS["instructor"]["pdf"] and "student" in STUDENT_PDF


def test_the_contents_page_gives_the_page_each_notebook_starts_on(pdf):
    n_pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run([poppler("pdfinfo"), str(pdf)], capture_output=True,
                                                              text=True, check=True).stdout).group(1))
    contents = " ".join(pdf_text(pdf, 2, 4, raw=True).split())
    for path in NOTEBOOKS:
        title = handout.plain_title(nbformat.read(path, as_version=4))
        match = re.search(re.escape(" ".join(title.split())) + r" (\d+)\b", contents)
        assert match, f"{title!r} is not on the contents page with a page number"
        number = int(match.group(1))
        assert 2 < number <= n_pages
        first_line = pdf_text(pdf, number, number).strip().splitlines()[0]
        assert title.startswith(first_line.strip()), f"the contents page says {title!r} starts on page {number}: " \
                                                     f"that page starts with {first_line!r}"


FOOTER = re.compile(r"^Softmax & Cross-Entropy · Student edition · page \d+ of \d+$", re.M)


def test_no_code_line_is_cut_off(pdf):
    """Every line of every code cell of the student notebooks is in the PDF's text, whole (whitespace aside: a long
    line wraps, and its continuation starts with ↪). pdftotext reads it in two orders, as printed and as laid out:
    a line broken across two pages is whole in the second, a line broken after a hyphen in the first."""
    texts = [re.sub(r"\s+", "", FOOTER.sub("", pdf_text(pdf, raw=raw)).replace("↪", "")) for raw in (True, False)]
    missing = []
    for path in NOTEBOOKS:
        nb = handout.student_copy(nbformat.read(path, as_version=4))
        for cell in nb.cells:
            if cell.cell_type == "code":
                missing += [(path.name, line) for line in cell.source.splitlines()
                            if line.strip() and not any(re.sub(r"\s+", "", line) in text for text in texts)]
    assert not missing, f"{len(missing)} code lines are not whole in the PDF, e.g. {missing[:3]}"


def test_no_page_is_left_mostly_empty(pdf, tmp_path):
    """A page may end early only before a notebook's first page (each notebook starts a page) or on the cover and
    contents; elsewhere the next cell or paragraph should have followed on it."""
    import numpy as np
    from PIL import Image

    subprocess.run([poppler("pdftoppm"), "-r", "20", "-gray", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.pgm"))
    starts = {i for i in range(1, len(pages) + 1) if re.match(r"\d\d · ", pdf_text(pdf, i, i).strip())}
    empty = []
    for i, path in enumerate(pages, 1):
        pixels = np.asarray(Image.open(path))
        body = pixels[: int(pixels.shape[0] * (1 - 16 / 297))]  # above the footer's margin
        inked = np.flatnonzero((body < 200).any(axis=1))
        fill = (inked.max() + 1) / len(body) if len(inked) else 0.0
        if fill < 0.4 and i > 3 and i + 1 not in starts and i < len(pages):
            empty.append((i, round(fill, 2)))
    assert not empty, f"pages less than 40% full in the middle of a notebook (page, fraction): {empty}"


def test_the_summary_prints_on_one_page(built):
    import pypdf

    path = built / "student" / "summary.pdf"
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 1, f"the one-page summary takes {len(reader.pages)} pages: shorten it (tools/summary.py)"
    assert reader.trailer["/Root"].get("/MarkInfo", {}).get("/Marked") and reader.trailer["/Root"].get("/Lang") == "en"
    text = " ".join(pdf_text(path).split())
    lead = {n: " ".join(re.split(r"[`$]", title)[0].split()[:3]) for n, title in handout.summary_traps()}
    missing = [n for n, words in lead.items() if words not in text]
    assert not missing, f"traps missing from the printed summary: {missing}"


# ----------------------------------------------------------------------------- the student pack


def test_the_student_pack_stands_alone(built, tmp_path):
    """The pack copied to an empty folder: its README's files exist, its index's links land, every image its
    notebooks show is inside it, and a notebook runs there, importing the pack's own helper package."""
    import nbclient

    pack = tmp_path / "pack"
    shutil.copytree(built / "student", pack)
    readme = (pack / "README.md").read_text(encoding="utf-8")
    def pins(path):
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]

    assert "pip install -r requirements.txt" in readme and pins(pack / "requirements.txt") == pins(ROOT / "requirements.txt")
    assert "tools/course.py" not in (pack / "requirements.txt").read_text(encoding="utf-8"), "the pack's pins speak of the repository"
    index = (pack / "index.html").read_text(encoding="utf-8")
    for link in re.findall(r'href="([^"#:]+)"', index):
        assert (pack / link).exists(), f"index.html links {link}, which the pack does not have"
    for path in (pack / "notebooks").glob("*.ipynb"):
        for image in re.findall(r"\]\((\.\./images/[^)]+)\)", path.read_text(encoding="utf-8")):
            assert (path.parent / image).resolve().is_file(), f"{path.name} shows {image}, which is not in the pack"
    nb = nbformat.read(pack / "notebooks" / "01_softmax.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import softmax_ce, pathlib; print(pathlib.Path(softmax_ce.__file__).resolve())"))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(pack / "notebooks")}}).execute()
    used = nb.cells[-1].outputs[0]["text"].strip()
    assert used.startswith(str(pack.resolve())), f"the pack's notebook imported softmax_ce from {used}, not from the pack"
    verdicts = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Not yet" in verdicts, "the pack's exercises should be unsolved, and their checkers should say so"
