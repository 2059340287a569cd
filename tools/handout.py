"""Build the classroom handout from the notebooks: `make handout`.

    python tools/handout.py [--out handout] [--no-pdf] [--edition student|instructor]

Writes, for each of handout/student/ and handout/instructor/:
- one HTML page per notebook (nbconvert, stored outputs and plots, images embedded), with previous/next links;
- index.html, the course table;
- mathjax/, a local copy of MathJax (from the jupyter-server-mathjax package): pages load nothing from the network;
- course.pdf, every notebook in order, printed by headless Chromium (skipped with --no-pdf or without Chromium).
Student pages have no cells tagged `solution`; instructor pages keep them, marked "Solution".
handout/student/notebooks/ also holds the notebooks to hand out: solution cells removed, exercise outputs cleared,
with the helper package and the images they need.

Nothing else is touched: each edition is built in OUT/.EDITION.partial and swapped in for OUT/EDITION only when
it is complete, and only when OUT/EDITION was made by this tool (it holds the file .made-by-tools-handout); other
files in OUT (handout/screenshots/ from the browser tests, anything of yours) stay as they are.
"""

import argparse
import copy
import html
import os
import pathlib
import re
import shutil
import sys
from html.parser import HTMLParser

import nbformat
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = pathlib.Path(__file__).resolve().parent / "handout_template"
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def course_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def title_of(nb):
    first = nb.cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


def is_solution(cell):
    return "solution" in cell.metadata.get("tags", [])


def is_exercise(cell):
    return cell.cell_type == "code" and "passed = check_" in cell.source


# The notebooks fold each solution in JupyterLab and say so under "## Exercises"; the handouts do not fold them
# (students get no solutions, instructors see them marked), so that paragraph is left out of both.
FOLDED_NOTE = "Each solution is folded away"


def without_folded_note(source):
    return "\n\n".join(p for p in source.split("\n\n") if not p.strip().startswith(FOLDED_NOTE))


def student_copy(nb):
    """The notebook without solution cells, with the exercises' stored outputs cleared."""
    nb, _ = TagRemovePreprocessor(remove_cell_tags={"solution"}).preprocess(copy.deepcopy(nb), {})
    for cell in nb.cells:
        cell.metadata.pop("jupyter", None)
        if is_exercise(cell):
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "markdown":
            cell.source = without_folded_note(cell.source)
    return nb


def with_local_images(nb):
    """Markdown refers to ../images/ (from notebooks/); pages are exported relative to the repository root so
    nbconvert embeds those images as data URLs (it only embeds files below the export path)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = without_folded_note(cell.source.replace("](../images/", "](images/"))
    return nb


class CourseExporter(HTMLExporter):
    """nbconvert's HTMLExporter without its last step, in which BeautifulSoup builds a tree of the whole page and
    writes it out again only to add alt text and tabindex attributes: most of the build's time. The lines below are
    HTMLExporter.from_notebook_node's first ones (re-check them when nbconvert is upgraded); ``accessible`` then
    makes the same changes (tests/unit/test_handout_exporter.py compares the pages with nbconvert's own)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                                       resources=resources))
        body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return accessible(body), resources


NO_ALT = "No description has been provided for this image"  # nbconvert's words


class _StartTagsToChange(HTMLParser):
    """The start tags HTMLExporter's BeautifulSoup pass changes, found by the same tokenizer without building a tree:
    every <img> without alt gets NO_ALT; every div of class jp-Cell-inputWrapper or jp-OutputArea-output after the
    element of class jp-Notebook (the page's body) gets tabindex="0". ``changes``: (offset, length, new start tag)."""

    def __init__(self, page):
        super().__init__(convert_charrefs=False)
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", page))]
        self.in_notebook, self.changes = False, []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        old = dict(attrs)  # a repeated attribute: the last one, as BeautifulSoup keeps it
        new, classes = dict(old), (old.get("class") or "").split()
        if tag == "img" and "alt" not in old:
            new["alt"] = NO_ALT
        if tag == "div" and self.in_notebook and {"jp-Cell-inputWrapper", "jp-OutputArea-output"} & set(classes):
            new["tabindex"] = "0"
        self.in_notebook = self.in_notebook or "jp-Notebook" in classes
        if new != old:
            line, column = self.getpos()  # where this tag's "<" is
            text = "".join(f" {k}" if v is None else f' {k}="{html.escape(v)}"' for k, v in new.items())
            self.changes.append((self.line_starts[line - 1] + column, len(self.get_starttag_text()), f"<{tag}{text}>"))


def accessible(page):
    """``page`` with what HTMLExporter's BeautifulSoup pass adds: alt text on images without any, and focusable
    (tabindex 0) cell inputs and outputs. Only those start tags are rewritten; every other byte stays."""
    pieces, done = [], 0
    for offset, length, tag in _StartTagsToChange(page).changes:
        pieces += [page[done:offset], tag]
        done = offset + length
    return "".join([*pieces, page[done:]])


EXPORTER_OPTIONS = {"template_name": "course", "extra_template_basedirs": [str(TEMPLATES)], "mathjax_url": MATHJAX_URL,
                    "embed_images": True, "exclude_input_prompt": False}


def exporter():
    return CourseExporter(**EXPORTER_OPTIONS)


def nav_html(pages, i):
    prev_link = f'<a href="{pages[i - 1][0]}">← {html.escape(pages[i - 1][1])}</a>' if i > 0 else "<span></span>"
    next_link = f'<a href="{pages[i + 1][0]}">{html.escape(pages[i + 1][1])} →</a>' if i + 1 < len(pages) else "<span></span>"
    return f'{prev_link}<a href="index.html">Contents</a>{next_link}'


def index_html(pages, version, pdf):
    rows = "\n".join(f'<tr><td>{name[:2]}</td><td><a href="{name}">{html.escape(title)}</a></td><td>{html.escape(goal)}</td></tr>'
                     for name, title, goal in pages)
    pdf = '<p><a href="course.pdf">The whole course as one PDF</a></p>' if pdf else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Softmax &amp; Cross-Entropy: {version} edition</title>
<style>body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.4; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.4em 0.6em; vertical-align: top; }}</style>
</head><body>
<h1>Softmax &amp; Cross-Entropy, from first principles to large vocabularies</h1>
<p>{version.capitalize()} edition.{" Solutions are marked in green." if version == "instructor" else " The exercises' checkers tell you whether your answer is right; open the notebooks in JupyterLab to try them."}</p>
{pdf}
<table><tr><th>#</th><th>notebook</th><th>what you will learn</th></tr>
{rows}
</table></body></html>
"""


def first_goal(nb):
    """The first bullet of the notebook's "What you will learn" list, for the index."""
    match = re.search(r"\*\*What you will learn\*\*\s*\n- (.+)", nb.cells[0].source)
    return re.sub(r"[`*$]", "", match.group(1)).rstrip(";.") if match else ""


MARK = ".made-by-tools-handout"  # in every edition folder this tool writes: the proof it may replace it


def build_version(version, notebooks, out, pdf):
    """Build one edition into ``out``/.``version``.partial, then swap it in for ``out``/``version``."""
    final, staging, old = out / version, out / f".{version}.partial", out / f".{version}.old"
    for path in (final, staging, old):
        if path.exists() and not (path / MARK).exists():
            raise SystemExit(f"handout: {path} is not a folder tools/handout.py made (it has no {MARK}): move it away or "
                             f"pass another --out; nothing was changed")
    for path in (staging, old):
        if path.exists():
            shutil.rmtree(path)
    staging.mkdir(parents=True)
    (staging / MARK).write_text("made by tools/handout.py: `make handout` replaces this folder\n", encoding="utf-8")
    try:
        fill_version(version, notebooks, staging, pdf)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ours, half built; the previous edition stays
        raise
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def fill_version(version, notebooks, folder, pdf):
    mathjax = pathlib.Path(__import__("jupyter_server_mathjax").__file__).parent / "static"
    shutil.copytree(mathjax, folder / "mathjax")
    loaded = [(path, nbformat.read(path, as_version=4)) for path in notebooks]
    if version == "student":
        loaded = [(path, student_copy(nb)) for path, nb in loaded]
    pages = [(path.stem + ".html", title_of(nb)) for path, nb in loaded]
    html_exporter = exporter()  # one for all pages: it compiles its templates once
    for i, (_, nb) in enumerate(loaded):
        body, _ = html_exporter.from_notebook_node(with_local_images(nb),
                                                resources={"metadata": {"name": pages[i][1], "path": str(ROOT)},
                                                           "course_nav": nav_html(pages, i)})
        (folder / pages[i][0]).write_text(body, encoding="utf-8")
    (folder / "index.html").write_text(index_html([(p, t, first_goal(nb)) for (p, t), (_, nb) in zip(pages, loaded)],
                                                  version, pdf), encoding="utf-8")
    if pdf:
        write_combined_page(loaded, folder / "all.html", html_exporter)
    if version == "student":
        copy_student_notebooks(loaded, folder / "notebooks")
    if pdf:
        print_pdf(folder)


def write_combined_page(loaded, path, html_exporter):
    """Every notebook in one page, all.html, which the PDF is printed from."""
    combined = nbformat.v4.new_notebook(metadata=loaded[0][1].metadata)
    for _, nb in loaded:
        combined.cells.extend(nb.cells)
    body, _ = html_exporter.from_notebook_node(with_local_images(combined),
                                               resources={"metadata": {"name": "Softmax & Cross-Entropy", "path": str(ROOT)}})
    path.write_text(body, encoding="utf-8")


def copy_student_notebooks(loaded, target):
    target.mkdir()
    for path, nb in loaded:
        nbformat.write(nb, target / path.name)
    shutil.copytree(NOTEBOOKS / "softmax_ce", target / "softmax_ce", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "images", target.parent / "images", ignore=shutil.ignore_patterns("*.py", "__pycache__"))


def print_pdf(folder, page_name="all.html", browser=None):
    """Print ``page_name`` (all.html: the whole course) to course.pdf with headless Chromium, after MathJax has
    typeset it; in ``browser`` when given (a playwright Browser), else in a Chromium of its own."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print_pdf(folder, page_name, browser)
            browser.close()
        return
    page = browser.new_page()
    page.goto((folder / page_name).as_uri(), wait_until="load")
    wait_for_mathjax(page)
    save_pdf(page, folder / "course.pdf")
    page.close()


def save_pdf(page, path):
    """Print an open, typeset page (a playwright Page) to ``path``: A4, backgrounds kept (the solution marks)."""
    page.pdf(path=str(path), format="A4", print_background=True,
             margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})


MATHJAX_DONE = ("() => window.MathJax && window.MathJax.Hub && window.MathJax.Hub.queue.pending === 0 "
                "&& window.MathJax.Hub.queue.running === 0")


def wait_for_mathjax(page, timeout_ms=180_000):
    """Wait until MathJax has finished its typesetting queue (the whole course on one page takes longest)."""
    page.wait_for_function(MATHJAX_DONE, timeout=timeout_ms)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "handout"))
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--edition", choices=["student", "instructor"], help="build only this edition (default: both)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    notebooks = course_notebooks()
    make_pdf = not args.no_pdf and pathlib.Path(CHROMIUM).exists()
    if not args.no_pdf and not make_pdf:
        print(f"no Chromium at {CHROMIUM}: no PDF (apt-get install chromium, or set CHROMIUM=...)", file=sys.stderr)
    for version in [args.edition] if args.edition else ["student", "instructor"]:
        folder = build_version(version, notebooks, out, make_pdf)
        pdf = ""
        if make_pdf:
            pdf = f", course.pdf {(folder / 'course.pdf').stat().st_size / 2**20:.1f} MB"
        print(f"{folder.relative_to(out.parent)}: {len(notebooks)} pages + index.html{pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
