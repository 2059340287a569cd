"""The course on one page (summary.html, printed to summary.pdf by tools/handout.py): the formulas, the shapes each
loss expects, which output layer and loss for which task, and the traps of notebook 10, one line each.

The shapes table is data (LOSSES): each row carries a call that tests/unit/test_summary.py runs in torch with
exactly the shapes and dtypes the row states, so the page cannot claim a shape torch refuses. The traps are read
from notebook 10's headings, so a new trap reaches the page by itself.
"""

import html
import pathlib
import re

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRAPS_NOTEBOOK = ROOT / "notebooks" / "10_trap_gallery.ipynb"

FORMULAS = [
    ("softmax (01)", r"p_i = \frac{e^{z_i}}{\sum_j e^{z_j}} = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}},\quad m = \max_j z_j"),
    ("temperature (01)", r"p = \operatorname{softmax}(z / T)"),
    ("log-sum-exp (05)", r"\operatorname{LSE}(z) = m + \log \sum_j e^{z_j - m},\quad \log p_i = z_i - \operatorname{LSE}(z)"),
    ("cross-entropy (02)", r"\ell = -\sum_c y_c \log p_c = \operatorname{LSE}(z) - z_t \ \text{ for class index } t"),
    ("batch mean (03, 07)", r"L = \frac{1}{N}\sum_i \ell_i,\qquad \text{with weights: } \frac{\sum_i w_{t_i} \ell_i}{\sum_i w_{t_i}}"),
    ("label smoothing (07)", r"q = (1 - \varepsilon)\, y + \varepsilon / C"),
    ("gradient (06)", r"\frac{\partial \ell}{\partial z} = p - y \ (\text{or } p - q),\qquad \frac{\partial L}{\partial Z} = \frac{P - Y}{N}"),
    ("binary, one logit (04)", r"\ell = \log(1 + e^{z}) - y z = \max(z, 0) - y z + \log(1 + e^{-|z|})"),
    ("classes split over P ranks (11)", r"m = \max_r m_r,\quad s = \sum_r s_r\, e^{m_r - m},\quad \ell = m + \log s - \sum_r z_{t,r}"),
]

# (loss, input, target, output with reduction='mean', a call that runs with exactly these shapes and dtypes)
LOSSES = [
    ("F.cross_entropy", "logits (N, C) float", "class indices (N,) int64",
     "scalar", "F.cross_entropy(torch.randn(4, 3), torch.tensor([0, 2, 1, 0]))"),
    ("F.cross_entropy", "logits (N, C) float", "probabilities (N, C) float, rows sum to 1",
     "scalar", "F.cross_entropy(torch.randn(4, 3), torch.softmax(torch.randn(4, 3), dim=1))"),
    ("F.cross_entropy", "logits (N, C, L) float (class dim 1)", "class indices (N, L) int64",
     "scalar", "F.cross_entropy(torch.randn(2, 3, 5), torch.randint(0, 3, (2, 5)))"),
    ("F.nll_loss", "log-probabilities (N, C) float", "class indices (N,) int64",
     "scalar", "F.nll_loss(torch.log_softmax(torch.randn(4, 3), dim=1), torch.tensor([0, 2, 1, 0]))"),
    ("F.binary_cross_entropy_with_logits", "logits, any shape, e.g. (N,) or (N, C)", "0/1 labels, same shape, float",
     "scalar", "F.binary_cross_entropy_with_logits(torch.randn(4, 3), torch.randint(0, 2, (4, 3)).float())"),
    ("F.binary_cross_entropy", "probabilities, any shape, float", "0/1 labels, same shape, float",
     "scalar", "F.binary_cross_entropy(torch.rand(4), torch.tensor([0.0, 1.0, 1.0, 0.0]))"),
    ("F.linear_cross_entropy (09)", "hidden states (N, D), weight (V, D)", "class indices (N,) int64",
     "scalar", "F.linear_cross_entropy(torch.randn(6, 4), torch.randn(10, 4), torch.randint(0, 10, (6,)))"),
]

TASKS = [
    ("one class per sample (C classes)", "C logits, no softmax layer", "CrossEntropyLoss (applies log-softmax)", "01-03, 07"),
    ("two classes", "1 logit (or 2 logits)", "BCEWithLogitsLoss (or CrossEntropyLoss)", "04"),
    ("several labels per sample", "C logits, one sigmoid each", "BCEWithLogitsLoss, targets (N, C) float", "04, 10"),
    ("a class per position (tokens, pixels)", "logits (N, C, L) or (N, C, H, W)", "CrossEntropyLoss; padding: ignore_index", "07, 10"),
    ("soft or smoothed labels", "C logits", "CrossEntropyLoss with probability targets or label_smoothing", "07"),
    ("a vocabulary of 30,000-250,000 tokens", "hidden states and the output weight", "chunked linear + cross-entropy", "09"),
    ("an output layer too large for one device", "the weight split by class over P ranks",
     "vocab-parallel cross-entropy: 3 all-reduces of N numbers", "11"),
    ("probabilities you can trust", "logits / T, T fitted on validation data", "temperature scaling, then measure ECE", "08"),
]


def traps():
    """Notebook 10's trap headings ("## Trap 7 · ..."), as (number, markdown title)."""
    found = []
    for cell in nbformat.read(TRAPS_NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "markdown":
            found += re.findall(r"^## Trap (\d+) · (.+)$", cell.source, re.M)
    return [(int(n), title.strip()) for n, title in found]


def inline(markdown):
    """`code` and $math$ of a one-line title as HTML (math left to MathJax)."""
    parts = re.split(r"(`[^`]+`)", markdown)
    return "".join(f"<code>{html.escape(p[1:-1])}</code>" if p.startswith("`") else html.escape(p, quote=False) for p in parts)


STYLE = """@page { size: A4; margin: 9mm 10mm; }
body { font: 8.1pt/1.28 "DejaVu Sans", sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 13pt; margin: 0 0 1mm 0; } h2 { font-size: 9.5pt; margin: 2.2mm 0 1mm 0; color: #0b3d6e; }
p { margin: 0.6mm 0; } code { font: 7.4pt "DejaVu Sans Mono", monospace; background: #f0f0f0; padding: 0 1px; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.5pt solid #aaa; padding: 0.5mm 1mm; vertical-align: top; text-align: left; }
th { background: #eef1f5; } .formulas td:first-child { white-space: nowrap; width: 20%; } .formulas td { padding: 0.8mm 1mm; }
.cols { columns: 2; column-gap: 5mm; } .cols ol { margin: 0; padding-left: 5mm; } .cols li { break-inside: avoid; }
.note { color: #444; font-size: 7.4pt; }
@media print { .screen-only { display: none; } }
@media screen { body { font-size: 11pt; max-width: 60em; padding: 1em; } code { font-size: 10pt; } }"""


def summary_html(mathjax_url):
    formulas = "\n".join(f"<tr><td>{html.escape(name)}</td><td>$\\displaystyle {tex}$</td></tr>" for name, tex in FORMULAS)
    losses = "\n".join(f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(i)}</td><td>{html.escape(t)}</td></tr>"
                       for name, i, t, _, _ in LOSSES)
    tasks = "\n".join(f"<tr><td>{html.escape(task)}</td><td>{html.escape(out)}</td><td>{html.escape(loss)}</td>"
                      f"<td>{html.escape(where)}</td></tr>" for task, out, loss, where in TASKS)
    trap_items = "\n".join(f'<li value="{n}">{inline(title)}</li>' for n, title in traps())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Softmax &amp; Cross-Entropy on one page</title><style>{STYLE}</style>
<script type="text/x-mathjax-config">MathJax.Hub.Config({{tex2jax: {{inlineMath: [["$", "$"]], processEscapes: true}},
  "HTML-CSS": {{availableFonts: [], webFont: "STIX-Web", imageFont: null, scale: 88,
  styles: {{"@font-face": {{"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}}}}}},
  messageStyle: "none", "fast-preview": {{disabled: true}}}});</script>
<script src="{mathjax_url}"></script></head><body><main>
<h1>Softmax &amp; cross-entropy on one page</h1>
<p class="note screen-only"><a href="index.html">Back to the course's contents</a></p>
<p class="note">$z$ logits, $p$ probabilities, $t$ class index, $y$ one-hot, $q$ soft target, $T$ temperature;
$N$ samples, $C$ classes. Numbers in brackets: the notebook that derives it.</p>
<h2>Formulas</h2>
<table class="formulas">{formulas}</table>
<h2>What each loss expects (PyTorch)</h2>
<table><tr><th scope="col">loss</th><th scope="col">input</th><th scope="col">target</th></tr>
{losses}</table>
<p class="note">With <code>reduction='mean'</code> (the default) each returns one number. Class indices must be int64 (uint8 only for (C,) and (N, C) inputs); <code>reduction='sum'</code> adds,
<code>'none'</code> keeps one loss per sample; never apply softmax before <code>CrossEntropyLoss</code>.</p>
<h2>Which output layer and loss</h2>
<table><tr><th scope="col">task</th><th scope="col">output layer</th><th scope="col">loss</th><th scope="col">notebooks</th></tr>
{tasks}</table>
<h2>The traps (notebook 10), one line each</h2>
<div class="cols"><ol>{trap_items}</ol></div>
<p class="note">Softmax &amp; Cross-Entropy, from first principles to large vocabularies. Text: CC BY 4.0; code: MIT.</p>
</main></body></html>
"""


def write_summary(folder, mathjax_url):
    """summary.html in ``folder`` (its MathJax at ``mathjax_url``, relative to it)."""
    (folder / "summary.html").write_text(summary_html(mathjax_url), encoding="utf-8")
