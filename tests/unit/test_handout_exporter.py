"""The handout's HTML exporter skips nbconvert's BeautifulSoup pass (two thirds of the build) and adds the same
alt text and tabindex attributes itself: its pages must be the same documents nbconvert's own pass makes. Then each
code line goes into its own span (long lines wrap with a mark): the text stays the same."""

import html
import pathlib
import re

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

import handout  # tools/handout.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Raw HTML a notebook's outputs may hold, with what the two passes must treat alike: images with and without alt
# (upper case, ">" inside a quoted value, an attribute named like alt), tags inside a comment and a script, and
# divs with classes near the ones that get tabindex, or with a tabindex already.
RAW_HTML = ('<img src="data:," alt="kept"><img src="data:,"><IMG SRC="data:,"><img title="a > b" src="data:,">'
            '<img data-alt="x" src="data:," /><!-- <img src="data:,"> --><script>var s = "<img src=x>";</script>'
            '<div class="jp-OutputArea-output-x">a</div><div id="d" class="x jp-OutputArea-output" tabindex="-1">b</div>')


def document(page):
    """The page as a tree of elements, each with its attributes in any order, and texts. A repeated attribute
    counts once, the first, as browsers read it; the random ids nbconvert gives JavaScript outputs are blanked."""
    page = UUID.sub("<uuid>", page)
    nodes = []
    for node in BeautifulSoup(page, "html.parser", on_duplicate_attribute="ignore").descendants:
        if node.name:
            nodes.append((node.name, sorted((k, " ".join(v) if isinstance(v, list) else v) for k, v in node.attrs.items())))
        else:
            nodes.append((type(node).__name__, str(node)))  # a comment is not a text
    return nodes


def pages(nb):
    resources = {"metadata": {"name": "page", "path": str(ROOT)}, "course_nav": '<a href="index.html">Contents</a>'}
    stock = HTMLExporter(**handout.EXPORTER_OPTIONS)  # nbconvert's own, with the course's settings
    ours, _ = handout.exporter().from_notebook_node(handout.with_local_images(nb), resources=dict(resources))
    theirs, _ = stock.from_notebook_node(handout.with_local_images(nb), resources=dict(resources))
    return ours, theirs


def test_pages_are_the_documents_nbconverts_own_pass_makes():
    nb = nbformat.read(ROOT / "notebooks" / "01_softmax.ipynb", as_version=4)  # plots, math, an image, exercises
    nb.cells.append(nbformat.v4.new_code_cell("print('<img src=x> <div class=\"jp-OutputArea-output\">')", outputs=[
        nbformat.v4.new_output("stream", text="<img src=x>\n"),
        nbformat.v4.new_output("display_data", data={"text/html": RAW_HTML}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "element.text('<img src=x>');"}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="<b>", traceback=["ValueError: <b>"])]))
    ours, theirs = pages(nb)
    assert ours != theirs  # not a copy of nbconvert's result: made without BeautifulSoup
    assert document(ours) == document(theirs)
    alts = [o.metadata["image/png"]["alt"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "image/png" in o.get("data", {})]
    assert alts and all(f'alt="{html.escape(alt)}"' in ours for alt in alts)  # show(fig, alt): the figure's own words
    assert ours.count(f'alt="{handout.NO_ALT}"') == 4  # in the raw HTML, the four images without alt
    assert 'alt="kept"' in ours


def text_of(page):
    """What a reader sees and copies: the page without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_wrapping_code_lines_keeps_every_character_and_line():
    nb = nbformat.read(ROOT / "notebooks" / "10_trap_gallery.ipynb", as_version=4)  # the longest code lines
    nb.cells.append(nbformat.v4.new_code_cell('s = """a string\nover three\n\nlines"""  # and a comment\n\n\nx = 1'))
    page, _ = handout.exporter().from_notebook_node(handout.with_local_images(nb), resources={"metadata": {"name": "p"}})
    wrapped = handout.wrap_code_lines(page)
    assert text_of(wrapped) == text_of(page)
    n_lines = sum(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code")
    assert wrapped.count('<span class="code-line">') >= n_lines  # code cells' lines, and the outputs' lines too
    blocks = re.findall(r'<pre class="wrapped[^"]*">(.*?)</pre>', wrapped, re.S)
    assert all(b.endswith("\n</span>") for b in blocks) and '<span class="code-line">\n</span>' in wrapped  # blank lines kept


def test_a_block_with_a_tag_across_lines_is_left_whole():
    page = '<pre><b>two\nlines</b></pre><pre><span class="x">one</span>\n</pre>'
    assert handout.wrap_code_lines(page) == ('<pre><b>two\nlines</b></pre><pre class="wrapped short">'
                                             '<span class="code-line"><span class="x">one</span>\n</span></pre>')
