"""The handout's HTML exporter skips nbconvert's BeautifulSoup pass (two thirds of the build) and adds the same
alt text and tabindex attributes itself: its pages must be the same documents nbconvert's own pass makes."""

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
    plots = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert ours.count(f'alt="{handout.NO_ALT}"') == plots + 4  # 01's plots; in the raw HTML, the four without alt
    assert 'alt="kept"' in ours
