"""The one-page summary (tools/summary.py) claims only what torch does: every row of its shapes table runs in torch
with exactly the shapes and dtypes it states, and where it says int64, int32 targets are refused. Its traps are
notebook 10's, all of them, in order."""

import re

import pytest
import torch
import torch.nn.functional as F

import summary  # tools/summary.py (pyproject.toml puts tools/ on the path)


@pytest.mark.parametrize("row", summary.LOSSES, ids=[f"{r[0]}: {r[2]}" for r in summary.LOSSES])
def test_each_loss_row_runs_with_the_shapes_it_states(row):
    name, _, target, output, call = row
    torch.manual_seed(0)
    loss = eval(call, {"torch": torch, "F": F})  # the row's own example
    assert name.split()[0] in call, f"the example of {name} calls another function: {call}"
    assert output == "scalar" and loss.shape == () and torch.isfinite(loss)
    if "int64" in target:  # the row says int64: int32 class indices must be an error in torch
        int32_call = re.sub(r"(torch\.(?:tensor\(\[[^\]]*\]\)|randint\([^)]*\)\)?))(\)*)$", r"\1.int()\2", call)
        assert int32_call != call, f"could not make an int32 variant of {call}"
        with pytest.raises(RuntimeError):
            eval(int32_call, {"torch": torch, "F": F})


def test_the_traps_are_notebook_10s():
    traps = summary.traps()
    assert [n for n, _ in traps] == list(range(1, len(traps) + 1)) and len(traps) >= 16
    page = summary.summary_html("mathjax/MathJax.js")
    assert page.count("<li value=") == len(traps) and "`" not in page.split("<h2>The traps")[1]


def test_the_page_has_every_formula_and_table():
    page = summary.summary_html("mathjax/MathJax.js")
    assert page.count("$\\displaystyle") == len(summary.FORMULAS)
    assert all(html_name in page for html_name in ("F.cross_entropy", "F.nll_loss", "F.binary_cross_entropy_with_logits"))
    assert page.count("<tr><td>") == len(summary.FORMULAS) + len(summary.LOSSES) + len(summary.TASKS)
