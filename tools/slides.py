"""Build reveal.js slides from the notebooks: `make slides`.

    python tools/slides.py [--out handout/slides] [--only 01 02_cross_entropy ...]

Writes handout/slides/: one deck per notebook (NN_topic.slides.html), index.html linking them, reveal.js/ (a
local copy of reveal.js, with its LICENSE), mathjax/ (MathJax from the jupyter-server-mathjax package) and the
course's LICENSE. The decks load nothing from the network: open them straight from disk in a lecture room without
one. Keys: → and ← (or Space, or a presenter's clicker) go through every step in order, S opens the speaker view
(notes), Esc the overview (sections across, their slides down), F full screen.

The decks are made from the notebooks as stored (their outputs; nothing is run), as the student edition shows
them: cells tagged `solution` are left out (the title slide says so), the exercises' outputs cleared.

Slide structure: the slideshow metadata (``slideshow.slide_type``) is computed by this tool on every build, on a
copy of each notebook in memory, from its headings and the size of its cells; it is never written into the
course's notebooks and never edited by hand, so slides and course cannot drift apart. The rule (``slide_types``):

- the title (``# ``) and each ``## `` heading start a slide; a ``### `` heading starts a slide below it (a
  subslide), except right under a heading; a markdown cell is cut at its headings so each starts its own slide;
- "**What you will learn**" is made a ``### `` heading, so the goals get a subslide of their own;
- a code cell (with its outputs) is a fragment, shown at the next key press; a long one (more than LONG_CODE lines
  of code and output, a figure counting as its height in lines) gets a subslide of its own; when it draws figures,
  or is taller than a slide, its figures (and long text output) go on the slide after it, without the code;
- long prose (a markdown part with more than LONG_PROSE words of running text, lists, tables and equations not
  counted) becomes speaker notes, whole; the slide keeps its first sentence and its equations, lists, tables and
  images;
- a cell that would make the slide taller than the screen (an estimate, ROOM) starts a subslide, headed with the
  section it continues; after the first fragment on a slide, the next cells are fragments too.

In the browser, a slide still taller than the screen is shrunk to fit (to 65% at most) and scrolls beyond that.
Speaker notes are left as TeX (the speaker view is another window, without MathJax).

Nothing else is touched: the decks are built in OUT's sibling .slides.partial and swapped in for OUT only when
complete, and only when OUT was made by this tool (it holds the file .made-by-tools-slides); the rest of handout/
(the handout's editions, screenshots/) stays as it is.

reveal.js 4.6.1 (the newest 4.x: nbconvert's reveal template targets 4.x) comes from registry.npmjs.org, checked
against its sha512 integrity, and is cached in ~/.cache/softmax-ce/ (or $XDG_CACHE_HOME/softmax-ce/): later builds
need no network.
"""

import argparse
import base64
import copy
import hashlib
import html
import io
import os
import pathlib
import re
import shutil
import struct
import sys
import tarfile
import time
import urllib.request

import nbformat
from nbconvert import SlidesExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from folders import rebuild
from handout import ROOT, course_notebooks, plain_title, student_copy, title_of, with_local_images
from handout_pages import wrap_code_lines

TEMPLATES = pathlib.Path(__file__).resolve().parent / "slides_template"
MARK = ".made-by-tools-slides"  # in the folder this tool writes: the proof it may replace it
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
COURSE_TITLE = "Softmax &amp; Cross-Entropy, from first principles to large vocabularies"
WIDTH, HEIGHT = 1280, 720  # the slide's size in CSS pixels; reveal.js scales it to the screen

REVEAL_VERSION = "4.6.1"
REVEAL_URL = f"https://registry.npmjs.org/reveal.js/-/reveal.js-{REVEAL_VERSION}.tgz"
REVEAL_INTEGRITY = "sha512-1CW0auaXNPmwmvQ7TwpszwVxMi2Xr5cTS3J3EBC/HHgbPF32Dn7aiu/LKWDOGjMbaDwKQiGmfqcoGQ74HUHCMw=="
# What the decks use from the package: the script, its notes plugin, the white theme and the font it imports.
REVEAL_FILES = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/theme/white.css", "plugin/notes/notes.js")
REVEAL_FOLDERS = ("dist/theme/fonts/source-sans-pro/",)

# ----------------------------------------------------------------------------- reveal.js, pinned and cached


def cache_folder():
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "softmax-ce"


def integrity_of(data):
    """npm's integrity string of ``data``: sha512, base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def reveal_tarball():
    """The bytes of reveal.js's npm tarball, checked against REVEAL_INTEGRITY: from the cache, else downloaded once
    and cached. Without either, stop with one line saying what is missing."""
    cached = cache_folder() / f"reveal.js-{REVEAL_VERSION}.tgz"
    if cached.exists():
        data = cached.read_bytes()
        if integrity_of(data) == REVEAL_INTEGRITY:
            return data
        cached.unlink()  # damaged: fetch it again
    try:
        with urllib.request.urlopen(REVEAL_URL, timeout=60) as response:
            data = response.read()
    except OSError as err:
        raise SystemExit(f"slides: reveal.js {REVEAL_VERSION} is missing: not in {cached} and {REVEAL_URL} could not be "
                         f"downloaded ({err}); put that file there (sha512 integrity {REVEAL_INTEGRITY})") from None
    if integrity_of(data) != REVEAL_INTEGRITY:
        raise SystemExit(f"slides: {REVEAL_URL} does not match its pinned integrity {REVEAL_INTEGRITY} (got "
                         f"{integrity_of(data)}); nothing was changed")
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def wanted(name):
    return name in REVEAL_FILES or any(name.startswith(folder) for folder in REVEAL_FOLDERS)


def unpack_reveal(data, folder):
    """The files the decks use from the tarball (package/...) into ``folder``, and a note on where they come from."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if member.isfile() and wanted(name) and ".." not in name.split("/"):
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    (folder / "README.txt").write_text(
        f"reveal.js {REVEAL_VERSION} by Hakim El Hattab and contributors, MIT License (see LICENSE beside this file).\n"
        f"From {REVEAL_URL}\n(integrity {REVEAL_INTEGRITY}); only the files the slides use are copied.\n",
        encoding="utf-8")


def copy_mathjax(folder):
    mathjax = pathlib.Path(__import__("jupyter_server_mathjax").__file__).parent / "static"
    shutil.copytree(mathjax, folder)


# ----------------------------------------------------------------------------- slide structure

LONG_CODE = 15  # lines of code and output: more, and the cell gets a slide of its own
LONG_PROSE = 60  # words of running text in one markdown part: more, and it goes to the speaker notes
ROOM = 600  # estimated height (px) a slide's content may take on the 720 px slide
LINE = 25  # px: a line of code or output
PROSE_LINE, PROSE_CHARS = 35, 100  # px and characters: a line of prose
HEADING_PX = {1: 140, 2: 75, 3: 60}
SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z*`$(\[])")
HEADING_LINE = re.compile(r"^(#{1,3}) ")
GOALS = "**What you will learn**"


def png_size(data):
    """(width, height) of a PNG from its header, or None."""
    raw = base64.b64decode(data[:32] + "=" * (-len(data[:32]) % 4)) if isinstance(data, str) else data[:24]
    if len(raw) < 24 or raw[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", raw[16:24])


def image_px(size):
    """The height (px) an image of ``size`` takes on the slide (scaled down to the slide's width)."""
    if not size:
        return 300
    width, height = size
    return height * min(1.0, WIDTH / width)


def blocks(text):
    """A markdown text's blocks (paragraphs, lists, tables, equations, fenced code), blank lines between them;
    a fence keeps its blank lines."""
    out, current, fenced = [], [], False
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                out.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def kind(block):
    """What a markdown block is: heading, math, list, table, image, fence, html or text."""
    first = block.lstrip()
    for prefix, name in (("```", "fence"), ("$$", "math"), ("|", "table"), ("![", "image"), ("<", "html"),
                         ("#", "heading")):
        if first.startswith(prefix):
            return name
    if re.match(r"([-*+]|\d+\.) ", first):
        return "list"
    return "text"


def prose_words(text):
    return sum(len(b.split()) for b in blocks(text) if kind(b) == "text")


def markdown_px(text):
    """An estimate of the height (px) of markdown ``text`` on a slide."""
    px = 0
    for block in blocks(text):
        what = kind(block)
        if what == "math":
            px += 70 * max(1, block.count("\\\\") + 1)
        elif what == "table":
            px += 32 * block.count("\n") + 20
        elif what == "image":
            match = re.search(r"\]\((?:\.\./)?(images/[^)\s]+)", block)
            path = ROOT / match.group(1) if match else None
            px += image_px(png_size(path.read_bytes()[:32]) if path and path.exists() else None)
        elif what in ("fence", "html"):
            px += LINE * (block.count("\n") + 1) + 20
        elif what == "list":
            items = re.split(r"\n(?=\s*(?:[-*+]|\d+\.) )", block)
            px += sum(PROSE_LINE * (len(item) // PROSE_CHARS + 1) for item in items) + 10
        else:
            px += PROSE_LINE * (len(block) // PROSE_CHARS + 1) + 15
    return px


def output_lines(cell):
    """The lines a code cell's outputs take: text lines, and each figure's height in lines."""
    lines = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            lines += image_px(png_size(data["image/png"])) / LINE
        else:
            lines += len((output.get("text") or data.get("text/plain", "")).splitlines())
    return lines


def code_lines(cell):
    """Lines of code and output of a code cell (a code line longer than the slide counts as the lines it wraps to)."""
    source = sum(len(line) // 105 + 1 for line in cell.source.splitlines())
    return (0 if cell.metadata.get("output_only") else source) + output_lines(cell)


def first_sentence(text):
    """The first sentence of a paragraph, its lines joined (a full stop inside $math$ or `code` does not end it)."""
    text = " ".join(text.split())
    inside = None
    for i, char in enumerate(text):
        if char in "$`":
            inside = None if inside == char else (inside or char)
        elif inside is None and SENTENCE_END.match(text, i):
            return text[: i + 1]
    return text


def lead(text):
    """What stays on the slide of a long markdown part: its first sentence (when it opens with text) and every
    block that is not running text (equations, lists, tables, images)."""
    parts = blocks(text)
    kept = [first_sentence(parts[0])] if kind(parts[0]) == "text" else []
    kept += [b for b in parts if kind(b) != "text"]
    return "\n\n".join(kept)


def split_markdown(source):
    """A markdown cell's parts: each heading line (``#`` to ``###``) alone, and the text between them; the line
    "**What you will learn**" becomes the heading "### What you will learn"."""
    parts, current = [], []
    for line in source.split("\n"):
        if HEADING_LINE.match(line) or line.startswith(GOALS):
            if "\n".join(current).strip():
                parts.append("\n".join(current).strip())
            current = []
            if HEADING_LINE.match(line):
                parts.append(line.strip())
                continue
        if line.strip() == GOALS:  # the goals get a slide of their own, under a heading of its level
            parts.append("### What you will learn")
            continue
        current.append(line)
    if "\n".join(current).strip():
        parts.append("\n".join(current).strip())
    return parts


def heading_level(source):
    match = HEADING_LINE.match(source)
    return len(match.group(1)) if match and "\n" not in source.strip() else 0


def md(source, cell_id, **metadata):
    """A markdown cell of the deck (its id made from the cell it comes from, so every build writes the same)."""
    cell = nbformat.v4.new_markdown_cell(source, id=cell_id[:64])
    cell.metadata.update(metadata)
    return cell


def is_figure(output):
    return "image/png" in output.get("data", {})


def output_only(cell, outputs, suffix):
    """A copy of code ``cell`` that shows only ``outputs`` (marked ``output_only``: the template leaves out its
    code; tagged ``slide-outputs``)."""
    shown = copy.deepcopy(cell)
    shown.outputs, shown.id = outputs, f"{cell.get('id', 'code')}-{suffix}"[:64]
    shown.metadata["output_only"] = True
    shown.metadata["tags"] = [*shown.metadata.get("tags", []), "slide-outputs"]
    return shown


def code_pieces(cell):
    """A code cell, or, when it is long (``LONG_CODE``) and draws figures or is taller than a slide, two: the code
    (with its text outputs when they fit beside it), then the outputs left (figures, long text) alone, so that each
    can have a slide."""
    if not cell.outputs or code_lines(cell) <= LONG_CODE:
        return [cell]
    figures = [o for o in cell.outputs if is_figure(o)]
    if not figures and height(cell) <= ROOM:
        return [cell]
    code = copy.deepcopy(cell)
    code.outputs = [o for o in cell.outputs if not is_figure(o)]
    if height(code) > ROOM and output_lines(code) > 5:  # a few lines stay under their code
        code.outputs = []
    rest = [o for o in cell.outputs if o not in code.outputs]
    return [code, output_only(cell, rest, "outputs")]


def pieces(nb):
    """The notebook's cells with every markdown cell cut into its parts (``split_markdown``), a long prose part
    into its lead (``lead``) followed by the whole part as a notes cell (marked ``notes``), and a long code cell
    that draws figures into its code and its figures (``code_pieces``)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("output_only"):
            out += code_pieces(cell)
            continue
        if cell.cell_type != "markdown":
            out.append(cell)
            continue
        for k, part in enumerate(split_markdown(cell.source)):
            cell_id, metadata = f"{cell.get('id', 'md')}-{k}", copy.deepcopy(cell.metadata)
            if not heading_level(part) and prose_words(part) > LONG_PROSE:
                out += [md(lead(part), cell_id, **metadata), md(part, cell_id + "-notes", **metadata, notes=True)]
            else:
                out.append(md(part, cell_id, **metadata))
    return out


def height(cell):
    """The estimated height (px) of a cell on a slide."""
    if cell.cell_type == "code":
        return LINE * code_lines(cell) + 30
    level = heading_level(cell.source)
    return HEADING_PX[level] if level else markdown_px(cell.source)


class Slide:
    """The slide being filled: its estimated height (``used``), whether it holds more than headings (``content``),
    whether a fragment has started on it (``fragments``), and the heading of the section it belongs to."""

    def __init__(self, section="", used=0):
        self.used, self.content, self.fragments, self.section = used, False, False, section


def heading_type(level, slide, title):
    """The slide_type of a heading; ``slide`` is updated."""
    if level in (1, 2) or slide.content:
        slide.__init__(section=title, used=HEADING_PX[level])
        return "slide" if level < 3 else "subslide"
    slide.section, slide.used = title, slide.used + HEADING_PX[level]  # a ### right under a heading
    return "-"


def content_type(cell, slide):
    """The slide_type of a cell that is not a heading, and whether it starts a continuation slide (a subslide
    that no heading started); ``slide`` is updated."""
    h = height(cell)
    long_code = cell.cell_type == "code" and code_lines(cell) > LONG_CODE
    if slide.content and (long_code or slide.used + h > ROOM):
        slide.used, slide.fragments = h, long_code
        return "subslide", True
    slide.used, slide.content = slide.used + h, True
    if cell.cell_type == "code" or slide.fragments:
        slide.fragments = True
        return "fragment", False
    return "-", False


def slide_type(cell, slide):
    """The slide_type of ``cell`` given the ``slide`` being filled (updated), and whether the cell starts a
    continuation slide."""
    if cell.metadata.get("notes"):
        return "notes", False
    if not cell.source.strip():
        return "skip", False
    level = heading_level(cell.source) if cell.cell_type == "markdown" else 0
    if level:
        return heading_type(level, slide, cell.source.lstrip("# ").strip()), False
    return content_type(cell, slide)


def slide_types(nb):
    """[(cell, slide_type)] for the notebook's pieces (``pieces``), in order, each continuation slide headed with
    the section it continues (a cell tagged ``slide-context``): the rule of the module's docstring."""
    slide, out = Slide(), []
    for cell in pieces(nb):
        kind_, continued = slide_type(cell, slide)
        if continued:
            context = re.sub(r"^(\d+)\.", r"\1\\.", f"{slide.section} (continued)" if slide.section else "(continued)")
            out += [(md(context, f"{cell.get('id', 'cell')}-context", tags=["slide-context"]), "subslide"), (cell, "-")]
            slide.content = True
        else:
            out.append((cell, kind_))
    return out


EDITION_NOTE = ("{course}: slides of notebook {number}, made from the notebook itself. As in the student edition, "
                "the exercises' solutions (cells tagged `solution`) are left out.")


def with_slides(nb, number):
    """A copy of ``nb`` cut into slides: the student edition (no solutions), a note under the title saying so, and
    every cell's ``slideshow.slide_type`` set by ``slide_types``."""
    nb = with_links_to_decks(with_local_images(student_copy(nb)))
    title, _, rest = nb.cells[0].source.partition("\n")
    note = md(EDITION_NOTE.format(course=COURSE_TITLE, number=number), "deck-edition", tags=["deck-edition"])
    nb.cells[0:1] = [md(title, "title"), note, md(rest.strip(), "title-rest")]
    cells = []
    for cell, kind_ in slide_types(nb):
        cell = copy.deepcopy(cell)
        cell.metadata.pop("notes", None)
        cell.metadata["slideshow"] = {"slide_type": kind_}
        cells.append(cell)
    nb.cells = cells
    return nb


def with_links_to_decks(nb):
    """Links to another notebook (``01_softmax.ipynb#Temperature``) made links to its deck."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\((\d\d_[A-Za-z0-9_]+)\.ipynb(#[^)]*)?\)", r"](\1.slides.html)", cell.source)
    return nb


# ----------------------------------------------------------------------------- decks


def exporter():
    return SlidesExporter(template_name="course_slides", extra_template_basedirs=[str(TEMPLATES)],
                          reveal_url_prefix="reveal.js", reveal_theme="white", reveal_transition="none",
                          reveal_number="c/t", reveal_width=str(WIDTH), reveal_height=str(HEIGHT),
                          mathjax_url=MATHJAX_URL, embed_images=True, exclude_input_prompt=True,
                          exclude_output_prompt=True, language_code="en")


def write_deck(slides_exporter, path, folder):
    """The deck of the notebook at ``path`` into ``folder``; returns (file name, title, number of slides)."""
    nb = nbformat.read(path, as_version=4)
    deck = with_slides(nb, path.name[:2])
    body, _ = slides_exporter.from_notebook_node(deck, resources={"metadata": {"name": plain_title(nb),
                                                                               "path": str(ROOT)}})
    name = path.stem + ".slides.html"
    (folder / name).write_text(wrap_code_lines(body), encoding="utf-8")
    count = sum(1 for c in deck.cells if c.metadata.slideshow.slide_type in ("slide", "subslide"))
    return name, title_of(nb), count


INDEX_STYLE = """body { font-family: sans-serif; max-width: 56em; margin: 2em auto; padding: 0 1em; line-height: 1.45;
       color: #1a1a1a; } a { color: #0b57a4; } code { background: #f0f0f0; padding: 0 0.2em; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #bbb; padding: 0.4em 0.6em; }
th { background: #eef1f5; text-align: left; } kbd { border: 1px solid #999; border-radius: 3px; padding: 0 0.3em; }"""


def index_html(decks):
    """handout/slides/index.html: every deck, linked, with its number of slides."""
    rows = "\n".join(f'<tr><td>{name[:2]}</td><td><a href="{html.escape(name)}">{inline_markdown(title)}</a></td>'
                     f"<td>{count}</td></tr>" for name, title, count in decks)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Softmax &amp; Cross-Entropy: slides</title><style>{INDEX_STYLE}</style>
</head><body><main>
<h1>{COURSE_TITLE}: slides</h1>
<p>One deck per notebook, made from the notebooks themselves (their stored outputs). As in the student edition, the
exercises' solutions are left out. Everything is on this disk: the decks need no network.</p>
<p>Keys: <kbd>→</kbd> / <kbd>←</kbd> (or <kbd>Space</kbd>, or a presenter's clicker) the next and previous step,
every slide in order; <kbd>S</kbd> the speaker view with the notes; <kbd>Esc</kbd> the overview (sections across,
their slides down); <kbd>F</kbd> full screen.</p>
<table><tr><th scope="col">#</th><th scope="col">deck</th><th scope="col">slides</th></tr>
{rows}
</table>
<p>reveal.js {REVEAL_VERSION} (MIT License, <a href="reveal.js/LICENSE">reveal.js/LICENSE</a>); the course:
<a href="LICENSE">LICENSE</a> (text and figures CC BY 4.0, code MIT).</p>
</main></body></html>
"""


def inline_markdown(text):
    return re.sub(r"^<p>|</p>\s*$", "", markdown2html_mistune(text).strip())


def fill(folder, paths, tarball):
    """Everything the decks need, into ``folder``: reveal.js, MathJax, licences, one deck per notebook, index.html."""
    unpack_reveal(tarball, folder / "reveal.js")
    copy_mathjax(folder / "mathjax")
    shutil.copyfile(ROOT / "LICENSE", folder / "LICENSE")
    slides_exporter = exporter()  # one for all decks: it compiles its templates once
    decks = [write_deck(slides_exporter, path, folder) for path in paths]
    (folder / "index.html").write_text(index_html(decks), encoding="utf-8")
    return decks


# ----------------------------------------------------------------------------- building beside, swapping in


def build(out, paths, tarball):
    """Build into ``out``'s sibling .NAME.partial, then swap it in for ``out``; refuse to touch a folder this tool
    did not make (no MARK in it), the rule of tools/folders.py that tools/handout.py's editions follow too."""
    return rebuild(out, MARK, "tools/slides.py", lambda staging: fill(staging, paths, tarball))


def select(paths, only):
    """The notebooks named in ``only`` (a number such as 01, a stem such as 01_softmax, or a file name)."""
    if not only:
        return paths
    chosen = [p for p in paths if any(name in (p.name, p.stem, p.name[:2]) or pathlib.Path(name).name == p.name
                                      for name in only)]
    unknown = [name for name in only if not any(name in (p.name, p.stem, p.name[:2]) or pathlib.Path(name).name == p.name
                                                for p in paths)]
    if unknown:
        raise SystemExit(f"slides: no notebook {', '.join(unknown)} (give a number such as 01, or a name such as "
                         f"01_softmax); nothing was changed")
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "handout" / "slides"), help="the folder of decks (default handout/slides)")
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="build only these notebooks' decks (01, 01_softmax)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    paths = select(course_notebooks(), args.only)
    out = pathlib.Path(args.out).resolve()
    decks = build(out, paths, reveal_tarball())
    print(f"{out}: {len(decks)} decks ({sum(c for _, _, c in decks)} slides) + index.html, "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
