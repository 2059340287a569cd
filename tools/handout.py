"""Build the classroom handout from the notebooks: `make handout`.

    python tools/handout.py [--out handout] [--no-pdf] [--edition student|instructor]

    python tools/handout.py --stored-figures   (faster: the notebooks' stored 100-dpi figures, no re-run)

Writes, for each of handout/student/ and handout/instructor/:
- one HTML page per notebook (nbconvert, outputs and plots, images embedded), with previous/next links;
- index.html: each notebook with what it teaches (its "What you will learn" list) and, in the student edition,
  the notebooks to run;
- mathjax/, a local copy of MathJax (from the jupyter-server-mathjax package): pages load nothing from the network;
- softmax-ce-student-edition.pdf / softmax-ce-instructor-edition.pdf: a cover naming the edition, a contents page
  with page numbers, every notebook in order; tagged (accessible), with bookmarks and numbered pages; printed by
  headless Chromium (tools/handout_print.py; skipped with --no-pdf or without Chromium);
- LICENSE.
Student pages have no cells tagged `solution`; instructor pages keep them, marked "Solution". Long code lines wrap
with a ↪ mark instead of being cut off; every figure has its alt text (``show(fig, alt)``).

Figures: the notebooks are run again with SOFTMAX_CE_FIGURE_DPI=200, two at a time, so figures print sharp; the
stored notebooks and their small 100-dpi figures stay as they are.

handout/student/ is also the pack to hand out, which stands alone: README.md (how to set up and open it),
requirements.txt (the course's exact pins), notebooks/ (solution cells removed, exercise outputs cleared) with the
helper package softmax_ce/ beside them, images/.

Nothing else is touched: each edition is built in OUT/.EDITION.partial and swapped in for OUT/EDITION only when
it is complete, and only when OUT/EDITION was made by this tool (it holds the file .made-by-tools-handout); other
files in OUT (handout/screenshots/ from the browser tests, anything of yours) stay as they are.
"""

import argparse
import concurrent.futures
import copy
import html
import os
import pathlib
import re
import shutil
import sys

import nbformat
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

import outputs  # tools/outputs.py: the tidy-up make outputs applies
from course_plan import goals_markdown, plan_html
from folders import rebuild
from handout_pages import NO_ALT, accessible, headings, links_within, unique_heading_ids, wrap_code_lines  # noqa: F401
from handout_print import (  # noqa: F401  (tools/handout_*.py: beside this file, also on pytest's path)
    CHROMIUM,
    CHROMIUM_ARGS,
    EDITIONS,
    MATHJAX_DONE,
    contents_entries,
    front_matter,
    outline,
    print_pdf,
    save_pdf,
    wait_for_mathjax,
)
from summary import traps as summary_traps  # noqa: F401
from summary import write_summary

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = pathlib.Path(__file__).resolve().parent / "handout_template"
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
PRINT_DPI = 200
COURSE_TITLE = "Softmax &amp; Cross-Entropy, from first principles to large vocabularies"


def course_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def title_of(nb):
    """The notebook's title, its first line without the "#", as markdown (it may hold `code`)."""
    first = nb.cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


def plain_title(nb):
    return re.sub(r"[`*]", "", title_of(nb))


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


def with_page_links(nb):
    """Links to another notebook (``01_softmax.ipynb#Temperature``) made links to its page."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\((\d\d_[A-Za-z0-9_]+)\.ipynb", r"](\1.html", cell.source)
    return nb


# ----------------------------------------------------------------------------- figures at print resolution


def _run(path):
    """``path`` executed in a fresh kernel whose figures are drawn at PRINT_DPI, as notebook JSON text."""
    import nbclient

    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    # tidied as make outputs tidies the stored notebooks: no live-widget outputs (nbconvert would add a script from
    # unpkg.com to render them), split prints joined (else a page shows a stray blank line)
    return nbformat.writes(outputs.normalise(nb))


def _print_environment():
    os.environ["SOFTMAX_CE_FIGURE_DPI"] = str(PRINT_DPI)  # the kernels inherit it: show() draws sharper PNGs
    os.environ["SOFTMAX_CE_NO_PROGRESS"] = "1"
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


def with_print_figures(paths):
    """Every notebook run again (two at a time, one thread each) with figures at PRINT_DPI: [(path, notebook)]."""
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, initializer=_print_environment) as pool:
        futures = {path: pool.submit(_run, path) for path in paths}
        loaded = []
        for path, future in futures.items():
            try:
                loaded.append((path, nbformat.reads(future.result(), as_version=4)))
            except Exception as err:
                raise SystemExit(f"handout: {path.name} failed when run again for print figures ({err}); fix it "
                                 f"(make outputs NB=notebooks/{path.name} shows the error) or pass --stored-figures; "
                                 f"nothing was changed") from None
    return loaded


# ----------------------------------------------------------------------------- pages


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


def render(html_exporter, nb, resources):
    """A notebook as a handout page: the exporter's HTML with every code line in its span (long lines wrap)."""
    body, _ = html_exporter.from_notebook_node(nb, resources=resources)
    return wrap_code_lines(body)


EXPORTER_OPTIONS = {"template_name": "course", "extra_template_basedirs": [str(TEMPLATES)], "mathjax_url": MATHJAX_URL,
                    "embed_images": True, "exclude_input_prompt": False, "language_code": "en"}


def exporter():
    return CourseExporter(**EXPORTER_OPTIONS)


def inline_markdown(text):
    """One line of markdown (a title) as HTML without the paragraph around it."""
    return re.sub(r"^<p>|</p>\s*$", "", markdown2html_mistune(text).strip())


def nav_html(pages, i):
    prev_link = f'<a href="{pages[i - 1][0]}">← {html.escape(pages[i - 1][1])}</a>' if i > 0 else "<span></span>"
    next_link = f'<a href="{pages[i + 1][0]}">{html.escape(pages[i + 1][1])} →</a>' if i + 1 < len(pages) else "<span></span>"
    return f'{prev_link}<a href="index.html">Contents</a>{next_link}'


INDEX_STYLE = """body { font-family: sans-serif; max-width: 64em; margin: 2em auto; padding: 0 1em; line-height: 1.45;
       color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #bbb; padding: 0.4em 0.6em; vertical-align: top; }
th { background: #eef1f5; text-align: left; } td ul { margin: 0; padding-left: 1.2em; } a { color: #0b57a4; }
code { background: #f0f0f0; padding: 0 0.2em; } pre { background: #f0f0f0; padding: 0.6em; overflow-x: auto; }
.edition { font-weight: bold; font-size: 1.15em; }"""


def index_html(entries, version):
    """The edition's front page: [(page file, notebook)], each with its whole "What you will learn" list."""
    rows = "\n".join(
        f'<tr><td>{name[:2]}</td><td><a href="{name}">{inline_markdown(title_of(nb))}</a>'
        + (f'<br>{"to run" if version == "student" else "with solutions"}: '
           f'<a href="notebooks/{name[:-5]}.ipynb">{name[:-5]}.ipynb</a>')
        + f"</td><td>{markdown2html_mistune(goals_markdown(nb))}</td></tr>" for name, nb in entries)
    pdf = EDITIONS[version]["pdf"]
    if version == "student":
        about = ('<p>These pages are the notebooks as you will see them, without the solutions of the exercises. To '
                 'work through them, run the notebooks: the set-up is in <a href="README.md">README.md</a> (three '
                 'commands), and each exercise\'s checker tells you whether your answer is right.</p>')
    else:
        about = ("<p>Every exercise is followed by its solution, marked <strong>Solution</strong> with a green bar. "
                 "Students get the student edition (handout/student/), which stands alone. "
                 '<a href="plan.html">The plan for a class</a>: each notebook\'s objectives, the exercises that '
                 'practise them, estimated times and the earlier notebooks each refers to. Each notebook with its '
                 'solutions is linked in the table (<a href="README.md">how to open them</a>).</p>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Softmax &amp; Cross-Entropy: {EDITIONS[version]["label"]}</title>
<style>{INDEX_STYLE}</style>
<script type="text/x-mathjax-config">MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
  processEscapes: true}}, "HTML-CSS": {{availableFonts: [], webFont: "STIX-Web", imageFont: null,
  styles: {{"@font-face": {{"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}}}}},
  messageStyle: "none", "fast-preview": {{disabled: true}}}});</script>
<script src="{MATHJAX_URL}"></script>
</head><body><main>
<h1>{COURSE_TITLE}</h1>
<p class="edition">{EDITIONS[version]["label"]}</p>
{about}
<p><a href="{pdf}">The whole course as one PDF</a> ({pdf}), with a contents page and bookmarks.
<a href="summary.html">The course on one page</a> (<a href="summary.pdf">as a PDF to print</a>): formulas, shapes,
which loss for which task, the traps.
Licence: <a href="LICENSE">LICENSE</a> (text and figures CC BY 4.0, code MIT).</p>
<table><tr><th scope="col">#</th><th scope="col">notebook</th><th scope="col">what you will learn</th></tr>
{rows}
</table></main></body></html>
"""


PACK_README = """# Softmax & Cross-Entropy, from first principles to large vocabularies: the student pack

This folder is the course as you run it: the notebooks ({count} of them, `notebooks/00_tools.ipynb` to
`notebooks/{last}`), the small helper package they import (`notebooks/softmax_ce/`, with the exercises' checkers),
the diagrams they show (`images/`), and the exact versions of everything they need (`requirements.txt`). The
exercises come without their solutions: write your answer in the exercise cell and run it; its checker prints
**Correct!** or says what is not right yet.

`index.html` and the HTML pages beside it are the same notebooks to read in a browser, and
`{pdf}` is all of them as one PDF.

## Set up once (CPython 3.11 to 3.14, 64-bit; Linux, macOS 14+ or Windows)

In a terminal, in this folder:

```bash
python3 -m venv .venv
.venv/bin/python -m pip install -r requirements.txt
```

On Windows: `py -m venv .venv`, then `.venv\\Scripts\\python -m pip install -r requirements.txt`.

On Linux, PyPI's PyTorch brings about 3 GB of CUDA libraries that these notebooks never use; to take PyTorch's
CPU-only build instead, add `--extra-index-url {cpu_index}` to the second command. PyTorch's CPU build is
about 1 GB once unpacked, most of the install; it takes a few minutes, and nothing outside this folder changes.

## Open the course

```bash
.venv/bin/jupyter lab
```

(Windows: `.venv\\Scripts\\jupyter lab`.) JupyterLab opens in your browser; open `notebooks/` and start with
`00_tools.ipynb` if broadcasting, integer-array indexing or autograd are new to you, else with
`01_softmax.ipynb`. Run each notebook from the top (Run > Run All Cells): the exercises use what the first cells
import. Keep this folder's layout: the notebooks import `softmax_ce` from their own folder and show `../images/`.
To stop JupyterLab, press Ctrl-C in its terminal.

## Licence

Text and figures: CC BY 4.0; code: MIT (see `LICENSE`).
"""


def write_pack(loaded, folder):
    """The student pack's own files: the notebooks to run (stored outputs, no solutions), the helper package beside
    them, the images, requirements.txt and README.md."""
    target = folder / "notebooks"
    copy_student_notebooks(loaded, target)
    write_requirements(folder / "requirements.txt")
    names = [path.name for path, _ in loaded]
    readme = PACK_README.format(count=len(names), last=names[-1], pdf=EDITIONS["student"]["pdf"],
                                cpu_index="https://download.pytorch.org/whl/cpu")
    (folder / "README.md").write_text(readme, encoding="utf-8")


INSTRUCTOR_README = """# Softmax & Cross-Entropy: the instructor's notebooks

`notebooks/` holds the course's notebooks as they are, with every exercise's solution (a cell tagged `solution`,
folded in JupyterLab under its exercise), the helper package `notebooks/softmax_ce/` and `images/`. Set them up
and open them like the student pack (handout/student/README.md): `python3 -m venv .venv`,
`.venv/bin/python -m pip install -r requirements.txt`, `.venv/bin/jupyter lab`. Hand students the student pack,
handout/student/, not this folder. `plan.html` maps each notebook's objectives to its exercises, with time
estimates; `summary.pdf` is the course on one page.
"""


PACK_PINS_HEADER = """# Exact pins for everything the notebooks need (the course's own requirements.txt, whose pins are resolved for
# CPython 3.11-3.14 on Linux, macOS and Windows by the course's tests): install with
#   python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt   (README.md has the details)
"""


def write_requirements(path):
    """The course's pins, with a header that speaks of this pack instead of the repository's tools."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    first_pin = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    path.write_text(PACK_PINS_HEADER + "".join(lines[first_pin:]), encoding="utf-8")


def write_instructor_notebooks(stored, folder):
    """The instructor edition's notebooks: the course's own, solutions included, beside the helper package."""
    copy_student_notebooks(stored, folder / "notebooks")
    write_requirements(folder / "requirements.txt")
    (folder / "README.md").write_text(INSTRUCTOR_README, encoding="utf-8")


def copy_student_notebooks(loaded, target):
    target.mkdir()
    for path, nb in loaded:
        nbformat.write(nb, target / path.name)
    shutil.copytree(NOTEBOOKS / "softmax_ce", target / "softmax_ce", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "images", target.parent / "images", ignore=shutil.ignore_patterns("*.py", "__pycache__"))


MARK = ".made-by-tools-handout"  # in every edition folder this tool writes: the proof it may replace it


def build_version(version, notebooks, out, pdf, stored=None):
    """Build one edition into ``out``/.``version``.partial, then swap it in for ``out``/``version``.
    ``notebooks``: [(path, notebook)] the pages are made from; ``stored``: the same as stored (the pack's notebooks;
    default ``notebooks``)."""
    rebuild(out / version, MARK, "tools/handout.py",
            lambda staging: fill_version(version, notebooks, staging, pdf, stored or notebooks))
    return out / version


def fill_version(version, loaded, folder, pdf, stored):
    mathjax = pathlib.Path(__import__("jupyter_server_mathjax").__file__).parent / "static"
    shutil.copytree(mathjax, folder / "mathjax")
    shutil.copyfile(ROOT / "LICENSE", folder / "LICENSE")
    if version == "student":
        loaded = [(path, student_copy(nb)) for path, nb in loaded]
    pages = [(path.stem + ".html", plain_title(nb)) for path, nb in loaded]
    html_exporter = exporter()  # one for all pages: it compiles its templates once
    for i, (_, nb) in enumerate(loaded):
        body = render(html_exporter, with_page_links(with_local_images(nb)),
                      {"metadata": {"name": pages[i][1], "path": str(ROOT)}, "course_nav": nav_html(pages, i)})
        (folder / pages[i][0]).write_text(body, encoding="utf-8")
    (folder / "index.html").write_text(index_html([(p, nb) for (p, _), (_, nb) in zip(pages, loaded)], version),
                                       encoding="utf-8")
    write_summary(folder, MATHJAX_URL)
    if version == "student":
        write_pack([(path, student_copy(nb)) for path, nb in stored], folder)
    else:
        (folder / "plan.html").write_text(plan_html([path for path, _ in loaded], markdown2html_mistune, MATHJAX_URL),
                                          encoding="utf-8")
        write_instructor_notebooks(stored, folder)
    if pdf:
        write_combined_page(loaded, folder / "all.html", html_exporter, version)
        print_pdf(folder, version)


def write_combined_page(loaded, path, html_exporter, version):
    """Every notebook in one page, all.html, which the PDF is printed from: the cover and contents page first, each
    notebook's heading ids prefixed with its number so links and the contents land in the right notebook."""
    combined = nbformat.v4.new_notebook(metadata=loaded[0][1].metadata)
    for _, nb in loaded:
        combined.cells.extend(nb.cells)
    resources = {"metadata": {"name": f"Softmax & Cross-Entropy: {EDITIONS[version]['label']}", "path": str(ROOT)},
                 "course_front": "<!-- front matter -->", "course_print": True}
    body = render(html_exporter, with_local_images(combined), resources)
    body = links_within(unique_heading_ids(body))
    body = body.replace("<!-- front matter -->", front_matter(version, contents_entries(headings(body))), 1)
    path.write_text(body, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "handout"))
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--stored-figures", action="store_true",
                        help="use the notebooks' stored figures (100 dpi) instead of running them again at 200 dpi")
    parser.add_argument("--edition", choices=["student", "instructor"], help="build only this edition (default: both)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    paths = course_notebooks()
    make_pdf = not args.no_pdf and pathlib.Path(CHROMIUM).exists()
    if not args.no_pdf and not make_pdf:
        print(f"no Chromium at {CHROMIUM}: no PDF (apt-get install chromium, or set CHROMIUM=...)", file=sys.stderr)
    stored = [(path, nbformat.read(path, as_version=4)) for path in paths]
    loaded = stored if args.stored_figures else with_print_figures(paths)
    for version in [args.edition] if args.edition else ["student", "instructor"]:
        folder = build_version(version, loaded, out, make_pdf, stored)
        pdf = ""
        if make_pdf:
            name = EDITIONS[version]["pdf"]
            pdf = f", {name} {(folder / name).stat().st_size / 2**20:.1f} MB"
        print(f"{folder.relative_to(out.parent)}: {len(paths)} pages + index.html{pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
