"""The handout's HTML, apart from nbconvert's template: what tools/handout.py adds to each exported page.

- ``wrap_code_lines``: every line of a ``<pre>`` block in its own ``<span class="code-line">``, so the template's CSS
  can wrap long lines (print, narrow screens) and mark each continuation with ↪ instead of clipping them.
- ``accessible``: what nbconvert's BeautifulSoup pass would add (alt text on images without any, focusable cells).
- ``unique_heading_ids``: in the whole-course page, each notebook's heading ids (and its links to them) prefixed
  with the notebook's number: every notebook has an "Exercises" heading, and links must land in their own notebook.
- ``headings``: the page's h1/h2 headings, for the PDF's contents page.
"""

import html
import re
from html.parser import HTMLParser

NO_ALT = "No description has been provided for this image"  # nbconvert's words

# ----------------------------------------------------------------------------- long lines

PRE = re.compile(r"<pre([^>]*)>(.*?)</pre>", re.S)
CODE_WRAPPER = re.compile(r"^(<code[^>]*>)(.*)(</code>)$", re.S)
SHORT_BLOCK = 15  # lines: a block this short is kept on one page (print CSS: pre.short)


def _balanced(line):
    return line.count("<span") == line.count("</span>") and "<" not in line.replace("<span", "").replace("</span", "")


def _wrapped(attrs, body):
    inner = CODE_WRAPPER.match(body)
    opening, body, closing = inner.groups() if inner else ("", body, "")
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not all(_balanced(line) for line in lines):  # a tag across lines: leave it whole (CSS still wraps it)
        return None
    size = " short" if len(lines) <= SHORT_BLOCK else ""
    attrs = re.sub(r'class="', f'class="wrapped{size} ', attrs, count=1) if "class=" in attrs else f'{attrs} class="wrapped{size}"'
    spans = "".join(f'<span class="code-line">{line}\n</span>' for line in lines)
    return f"<pre{attrs}>{opening}{spans}{closing}</pre>"


def wrap_code_lines(page):
    """``page`` with each line of every <pre> block in a <span class="code-line"> (its text unchanged, newline kept
    inside the span, so copying still gives the code). pygments closes its spans at every line end, so each line is
    well formed on its own; a block where a tag spans lines is left as it is."""
    return PRE.sub(lambda m: _wrapped(m.group(1), m.group(2)) or m.group(0), page)


# ----------------------------------------------------------------------------- nbconvert's accessibility pass


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


# ----------------------------------------------------------------------------- headings

HEADING = re.compile(r'<h([1-6]) id="([^"]*)"[^>]*>(.*?)</h\1>', re.S)
ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)


def heading_text(inner_html):
    """A heading's HTML as plain text (its ¶ anchor link dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", ANCHOR.sub("", inner_html))).strip()


def unique_heading_ids(page):
    """Each notebook's part of the whole-course page (from its h1 title "NN · ..." to the next) with its heading ids
    and its links to them prefixed "nbNN-"."""
    starts = [m.start() for m in HEADING.finditer(page) if m.group(1) == "1"]
    if not starts:
        return page
    parts = [page[: starts[0]]]
    for begin, end in zip(starts, [*starts[1:], len(page)]):
        part = page[begin:end]
        number = re.match(r"\d+", heading_text(HEADING.match(part).group(3)))
        prefix = f"nb{number.group(0)}-" if number else "nb-"
        ids = {m.group(2) for m in HEADING.finditer(part)}
        part = re.sub(r'(<h[1-6] id=")([^"]*)"', lambda m, p=prefix: f'{m.group(1)}{p}{m.group(2)}"', part)
        part = re.sub(r'href="#([^"]*)"', lambda m, p=prefix, own=ids: f'href="#{p}{m.group(1)}"' if m.group(1) in own
                      else m.group(0), part)
        parts.append(part)
    return "".join(parts)


NOTEBOOK_LINK = re.compile(r'href="(\d\d)_[A-Za-z0-9_]+\.ipynb(?:#([^"]*))?"')


def links_within(page):
    """In the whole-course page, links to another notebook (``01_softmax.ipynb#Temperature``) made links to its
    part of the page (``#nb01-Temperature``, or its title)."""
    titles = {}
    for m in HEADING.finditer(page):
        if m.group(1) == "1" and re.match(r"nb\d\d-", m.group(2)):
            titles.setdefault(m.group(2)[2:4], m.group(2))
    def target(m):
        number, anchor = m.groups()
        if number not in titles:
            return m.group(0)
        return f'href="#nb{number}-{anchor}"' if anchor else f'href="#{titles[number]}"'
    return NOTEBOOK_LINK.sub(target, page)


def headings(page, levels=(1, 2)):
    """[(level, id, inner HTML without the anchor link)] of the page's headings of these levels, in order."""
    return [(int(m.group(1)), m.group(2), ANCHOR.sub("", m.group(3)).strip()) for m in HEADING.finditer(page)
            if int(m.group(1)) in levels]
