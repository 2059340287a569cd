"""The instructor's plan (plan.html, built by tools/handout.py into the instructor edition): per notebook, its
learning objectives (the "What you will learn" list), each with the exercises that practise it
(tools/course_plan_data.py), an estimated time, and the earlier notebooks it refers back to.

- Time, an estimate stated as one: reading the prose at READING_WPM words a minute, CODE_CELL_MINUTES per code
  cell to run it and read its output, EXERCISE_MINUTES per exercise; rounded up to 5 minutes.
- Prerequisites: the earlier notebooks its text refers to ("notebook 05", "(02, 03)", a link to 01_softmax.ipynb).
"""

import html
import math
import re

import nbformat

from course_plan_data import PRACTISES

READING_WPM = 120
CODE_CELL_MINUTES = 1.0
EXERCISE_MINUTES = 10.0


def goals_markdown(nb):
    """The notebook's "What you will learn" list, whole, as markdown."""
    match = re.search(r"\*\*What you will learn\*\*\s*\n((?:[-*] .*\n?(?:  +.*\n?)*)+)", nb.cells[0].source + "\n")
    return match.group(1).strip() if match else ""


def goals(nb):
    """The notebook's "What you will learn" bullets, as markdown, in order (goal 1 first)."""
    bullets = re.split(r"\n(?=[-*] )", goals_markdown(nb)) if goals_markdown(nb) else []
    return [" ".join(b[2:].split()).rstrip(";.") for b in bullets]


def exercises(nb):
    """The checker names of the exercise cells, in order."""
    return [re.search(r"passed = (check_\w+)\(", c.source).group(1) for c in nb.cells
            if c.cell_type == "code" and "passed = check_" in c.source and "solution" not in c.metadata.get("tags", [])]


def estimate_minutes(nb):
    """Reading, running and exercising time, rounded up to 5 minutes (see the module docstring)."""
    words = sum(len(re.sub(r"\$[^$]*\$", " x ", c.source).split()) for c in nb.cells if c.cell_type == "markdown")
    code = [c for c in nb.cells if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])]
    n_exercises = len(exercises(nb))
    minutes = words / READING_WPM + (len(code) - n_exercises) * CODE_CELL_MINUTES + n_exercises * EXERCISE_MINUTES
    return 5 * math.ceil(minutes / 5), words, len(code) - n_exercises, n_exercises


REFERENCE = re.compile(r"notebooks? (\d\d)\b|\b(\d\d)_[a-z_]+\.ipynb|\((\d\d(?:, \d\d)*)\)")


def prerequisites(nb, number):
    """The earlier notebooks (their numbers) this one's markdown refers to."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for m in REFERENCE.finditer(cell.source):
                found |= {int(n) for n in re.findall(r"\d\d", next(g for g in m.groups() if g))}
    return sorted(n for n in found if n < number)


def plan_rows(paths):
    """Per notebook: (path, title, goals, {goal number: [exercise numbers]}, exercises, estimate, prerequisites)."""
    rows = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        names, mapping = exercises(nb), PRACTISES[path.stem]
        practised = {g: [i + 1 for i, name in enumerate(names) if g in mapping[name]] for g in range(1, len(goals(nb)) + 1)}
        rows.append((path, nb.cells[0].source.splitlines()[0].lstrip("# "), goals(nb), practised, names,
                     estimate_minutes(nb), prerequisites(nb, int(path.stem[:2]))))
    return rows


def plan_html(paths, render_markdown, mathjax_url):
    """The whole plan as a page; ``render_markdown``: markdown to HTML (nbconvert's), for goals and titles."""
    sections, total = [], 0
    for path, title, goal_list, practised, names, (minutes, words, n_code, n_ex), before in plan_rows(paths):
        total += minutes
        items = "\n".join(
            f"<tr><td>{g}</td><td>{render_markdown(text)}</td><td>"
            + (", ".join(f"exercise {i} (<code>{names[i - 1]}</code>)" for i in practised[g]) or "reading and code only")
            + "</td></tr>" for g, text in enumerate(goal_list, 1))
        needs = ", ".join(f"{n:02d}" for n in before) or "none"
        sections.append(f"""<section aria-labelledby="nb{path.stem[:2]}">
<h2 id="nb{path.stem[:2]}">{render_markdown(title)}</h2>
<p><strong>About {minutes} minutes</strong> (an estimate: {words} words to read, {n_code} code cells to run,
{n_ex} exercises). <strong>Refers back to:</strong> {needs}.
<a href="{path.stem}.html">The notebook's page</a>.</p>
<table><tr><th scope="col">#</th><th scope="col">learning objective</th><th scope="col">practised by</th></tr>
{items}</table></section>""")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Softmax &amp; Cross-Entropy: the instructor's plan</title>
<style>body {{ font-family: sans-serif; max-width: 64em; margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #1a1a1a; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }}
th {{ background: #eef1f5; }} td p {{ margin: 0; }} code {{ background: #f0f0f0; }} section {{ break-inside: avoid-page; }}</style>
<script type="text/x-mathjax-config">MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"]], processEscapes: true}},
  "HTML-CSS": {{availableFonts: [], webFont: "STIX-Web", imageFont: null,
  styles: {{"@font-face": {{"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}}}}},
  messageStyle: "none", "fast-preview": {{disabled: true}}}});</script>
<script src="{mathjax_url}"></script></head><body><main>
<h1>Planning a class: objectives, exercises, time</h1>
<p><a href="index.html">Back to the course's contents</a></p>
<p>For each notebook: what it teaches, which exercise practises each objective, an estimated time and the earlier
notebooks it refers back to. The times are estimates from the text: {READING_WPM} words a minute of reading,
{CODE_CELL_MINUTES:g} minute per code cell, {EXERCISE_MINUTES:g} minutes per exercise, rounded up to 5 minutes; in
all about {html.escape(f"{total / 60:.1f}")} hours. "Refers back to" lists the earlier notebooks the text names;
each notebook also assumes the ones before it.</p>
{"".join(sections)}
</main></body></html>
"""
