"""The handout's PDF: a cover saying which edition it is, a contents page with page numbers, the course; tagged
(accessible), with an outline (bookmarks) and page numbers, printed by headless Chromium from all.html.

Chromium makes the outline from the page's headings and knows on which page each lands; the contents page needs
those numbers before it is printed. So the page is printed twice: once with blank numbers (each a fixed-width box,
so filling them moves nothing), whose outline gives each heading's page; then with the numbers filled in. The
second print's outline is read again and must give the same pages.
"""

import html
import os
import pathlib
import re
import tempfile

from handout_pages import heading_text

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
COURSE = "Softmax &amp; Cross-Entropy"
FULL_TITLE = "Softmax &amp; Cross-Entropy, from first principles to large vocabularies"

EDITIONS = {
    "student": {"label": "Student edition", "pdf": "softmax-ce-student-edition.pdf",
                "note": "The exercises are printed without their solutions. Run the notebooks (see README.md in this "
                        "pack) and each exercise's checker tells you whether your answer is right."},
    "instructor": {"label": "Instructor edition: contains solutions", "pdf": "softmax-ce-instructor-edition.pdf",
                   "note": "Every exercise is followed by its solution, marked <strong>Solution</strong> with a green "
                           "bar. Hand students the student edition, not this one."},
}
LICENCE = ("Text and figures: Creative Commons Attribution 4.0 International (CC BY 4.0). Code: MIT License. "
           "See LICENSE for the terms and the suggested attribution.")

MATHJAX_DONE = ("() => window.MathJax && window.MathJax.Hub && window.MathJax.Hub.queue.pending === 0 "
                "&& window.MathJax.Hub.queue.running === 0")


def front_matter(edition, entries):
    """The cover and the contents page, as HTML for the top of all.html. ``entries``: (level, id, inner HTML) of
    the notebooks' titles (1) and sections (2); each line's page number is a blank box until ``fill_contents``."""
    info = EDITIONS[edition]
    lines = []
    for level, target, inner in entries:
        lines.append(f'<li class="toc-{level}"><a href="#{html.escape(target)}"><span class="toc-title">{inner}</span>'
                     f'<span class="toc-page" data-target="{html.escape(target)}"></span></a></li>')
    return f"""<section class="cover cover-{edition}" aria-labelledby="cover-title">
<h1 id="cover-title" class="cover-title">{FULL_TITLE}</h1>
<p class="cover-edition">{info["label"]}</p>
<p class="cover-note">{info["note"]}</p>
<p class="cover-licence">{LICENCE}</p>
</section>
<nav class="contents" aria-labelledby="contents-title">
<h1 id="contents-title">Contents</h1>
<ol>
{chr(10).join(lines)}
</ol>
</nav>
"""


def footer(edition):
    label = html.escape(EDITIONS[edition]["label"].split(":")[0])
    return (f'<div style="font: 8pt sans-serif; color: #333; width: 100%; text-align: center;">{COURSE} · {label} · '
            'page <span class="pageNumber"></span> of <span class="totalPages"></span></div>')


def save_pdf(page, path, edition):
    """Print an open, typeset page (a playwright Page) to ``path``: A4, tagged, with an outline, backgrounds kept
    (the solution marks), the edition and the page number in every footer."""
    page.pdf(path=str(path), format="A4", print_background=True, tagged=True, outline=True,
             display_header_footer=True, header_template="<div></div>", footer_template=footer(edition),
             margin={"top": "12mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})


def outline(path):
    """The PDF's bookmarks in document order: [(level, title, page number from 1)]."""
    import pypdf

    reader = pypdf.PdfReader(str(path))
    found = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                found.append((level, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 1)
    return found


# Each visible heading's id and its text as a bookmark title: math as its TeX source, no ¶ anchor link. (Chromium's
# own titles lose the space wherever a heading wraps onto a second line: "from scores toprobabilities".)
VISIBLE_HEADINGS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.getClientRects().length > 0).map(h => {
      const c = h.cloneNode(true);
      c.querySelectorAll('.anchor-link, .MathJax, .MathJax_Preview, .MJX_Assistive_MathML').forEach(e => e.remove());
      c.querySelectorAll('script[type^="math/tex"]').forEach(s => s.replaceWith(document.createTextNode(s.textContent)));
      return [h.id, c.textContent.replace(/\\s+/g, ' ').trim()]; })"""


def heading_pages(headings, pdf_path):
    """{heading id: page} for the page's headings ([(id, title)] in order), from the outline in ``pdf_path``."""
    marks = outline(pdf_path)
    if len(headings) != len(marks):
        raise RuntimeError(f"the PDF's outline has {len(marks)} entries for the page's {len(headings)} headings: the "
                           f"contents page cannot be numbered")
    return {heading_id: number for (heading_id, _), (_, _, number) in zip(headings, marks) if heading_id}


def outline_items(writer):
    """The bookmark dictionaries of a pypdf PdfWriter, depth first (each before its children, then its siblings)."""
    items, stack = [], [writer._root_object["/Outlines"].get("/First")]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        node = node.get_object()
        items.append(node)
        stack += [node.get("/Next"), node.get("/First")]  # the children first, then the next sibling
    return items


def retitle_outline(source, target, titles):
    """Copy the PDF ``source`` to ``target`` with its bookmarks (in document order) titled ``titles``."""
    import pypdf
    from pypdf.generic import NameObject, TextStringObject

    writer = pypdf.PdfWriter(str(source), incremental=True)  # the original bytes, then only the changed bookmarks
    items = outline_items(writer)
    if len(items) != len(titles):
        raise RuntimeError(f"the PDF's outline has {len(items)} entries for {len(titles)} headings")
    for item, title in zip(items, titles):
        item[NameObject("/Title")] = TextStringObject(title)
    with open(target, "wb") as out:
        writer.write(out)


FILL = """numbers => { for (const box of document.querySelectorAll('.toc-page')) {
    box.textContent = String(numbers[box.dataset.target] ?? '?'); } }"""


def print_course(page, path, edition):
    """Print the open, typeset all.html to ``path`` with its contents page numbered. Returns {heading id: page}."""
    with tempfile.TemporaryDirectory() as tmp:
        draft = pathlib.Path(tmp) / "draft.pdf"
        save_pdf(page, draft, edition)
        found = page.evaluate(VISIBLE_HEADINGS)
        numbers = heading_pages(found, draft)
        page.evaluate(FILL, numbers)
        save_pdf(page, draft, edition)
        again = heading_pages(found, draft)
        if again != numbers:
            moved = sorted(k for k in numbers if numbers[k] != again.get(k))[:5]
            raise RuntimeError(f"numbering the contents page moved headings to other pages: {moved}")
        retitle_outline(draft, path, [title for _, title in found])
    return numbers


def print_pdf(folder, edition, page_name="all.html", browser=None):
    """Print ``page_name`` (all.html: the whole course) to the edition's PDF with headless Chromium, after MathJax
    has typeset it, and summary.html to summary.pdf when it is there; in ``browser`` when given (a playwright
    Browser), else in a Chromium of its own."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return print_pdf(folder, edition, page_name, browser)
            finally:
                browser.close()
    page = browser.new_page()
    try:
        page.goto((folder / page_name).as_uri(), wait_until="load")
        wait_for_mathjax(page)
        numbers = print_course(page, folder / EDITIONS[edition]["pdf"], edition)
    finally:
        page.close()
    if (folder / "summary.html").exists():
        print_one_page(browser, folder / "summary.html", folder / "summary.pdf")
    return numbers


def print_one_page(browser, source, target):
    """Print a page that sets its own A4 layout (@page), such as the one-page summary: tagged, with an outline."""
    page = browser.new_page()
    try:
        page.goto(source.as_uri(), wait_until="load")
        wait_for_mathjax(page)
        page.pdf(path=str(target), prefer_css_page_size=True, print_background=True, tagged=True, outline=True)
    finally:
        page.close()


def wait_for_mathjax(page, timeout_ms=180_000):
    """Wait until MathJax has finished its typesetting queue (the whole course on one page takes longest)."""
    page.wait_for_function(MATHJAX_DONE, timeout=timeout_ms)


def contents_entries(headings):
    """The contents page's lines: each notebook's title and its sections, from ``handout_pages.headings``."""
    return [(level, target, inner) for level, target, inner in headings if heading_text(inner)
            and not re.fullmatch(r"(cover|contents)-title", target)]
