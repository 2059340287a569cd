"""`make lab` for real, one server for all of these tests (serving a copy of the course, so that running cells
and autosave never touch the repository):

- without a browser: the server listens on 127.0.0.1 with token auth, serves the notebooks and images, and a
  kernel started for a notebook imports the helper package with no install step;
- in headless Chromium: JupyterLab opens 01_softmax.ipynb, runs every cell through the UI, outputs appear, none
  is an error, and the temperature explorer's slider redraws its chart; screenshots land in handout/screenshots/.
  These skip without Chromium (and fail under CI).
"""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import nbformat
import pytest
import torch
import websocket

from browser import ROOT, SCREENSHOTS, chromium_browser, new_page, wait_until
from lab_server import running_lab


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def lab_server(workspace):
    # `make lab` itself, serving a copy of the course, so that running cells (and autosave) never touch the repository
    shutil.copytree(ROOT / "notebooks", workspace / "notebooks", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "images", workspace / "images")
    fold_an_ordinary_input(workspace / "notebooks" / "01_softmax.ipynb")
    with running_lab(root=workspace, timeout=240) as server:
        yield server


def fold_an_ordinary_input(path):
    """A state a learner's notebook may be in (one click on a cell's blue bar): an ordinary cell's input folded.
    The tests below must accept it; the hooks unfold it before a commit."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# twin: npF.softmax\n"))
    cell.metadata["jupyter"] = {"source_hidden": True}
    nbformat.write(nb, path)


def get(url, token=None):
    headers = {"Authorization": f"token {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, r.read()


def post(url, token, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def delete(url, token):
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE", headers={"Authorization": f"token {token}"}),
                                timeout=30) as r:
        return r.status


def test_token_is_required(lab_server):
    base, _ = lab_server
    with pytest.raises(urllib.error.HTTPError) as err:
        get(f"{base}/api/contents/notebooks")
    assert err.value.code == 403


def test_serves_the_notebooks_and_their_images(lab_server):
    base, token = lab_server
    _, body = get(f"{base}/api/contents/notebooks", token)
    names = {item["name"] for item in json.loads(body)["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} <= names
    status, png = get(f"{base}/files/images/softmax_pipeline.png", token)
    assert status == 200 and png.startswith(b"\x89PNG")
    status, page = get(f"{base}/lab/tree/notebooks/01_softmax.ipynb", token)
    assert status == 200 and b"JupyterLab" in page


def test_a_second_make_lab_shows_the_running_one(lab_server, workspace):
    """Instead of a second server on the next port with a new token, the address of the one already running."""
    base, token = lab_server
    result = subprocess.run(["make", "--no-print-directory", "lab", f"LAB_ROOT={workspace}", "LAB_ARGS=--no-browser"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already running" in result.stdout and f"{base}/lab/tree/notebooks?token={token}" in result.stdout, result.stdout


def test_the_course_turns_off_jupyterlab_news(lab_server):
    """tools/jupyterlab/overrides.json (copied into .venv by the set-up): no "get notified about news?" pop-up."""
    base, token = lab_server
    _, body = get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification", token)
    defaults = json.loads(body)["schema"]["properties"]  # overrides.json changes the defaults; a user may still opt in
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False


def test_a_notebook_kernel_imports_the_helper_package(lab_server):
    base, token = lab_server
    # 02, not 01: the browser test below opens 01 and must get a fresh kernel
    session = post(f"{base}/api/sessions", token, {"path": "notebooks/02_cross_entropy.ipynb", "type": "notebook",
                                                   "kernel": {"name": "python3"}})
    ws = websocket.create_connection(f"{base.replace('http', 'ws')}/api/kernels/{session['kernel']['id']}/channels",
                                     header=[f"Authorization: token {token}"], timeout=60)
    try:
        msg_id = uuid.uuid4().hex
        code = "from softmax_ce import functional as npF\nprint(npF.softmax([2.0, 1.0, 0.1], dim=0))"
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        printed, status = "", None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                pytest.fail(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            elif msg["msg_type"] == "execute_reply":
                status = msg["content"]["status"]
        assert status == "ok"
        assert printed.strip() == "[0.65900114 0.24243297 0.09856589]"
    finally:
        ws.close()
        delete(f"{base}/api/sessions/{session['id']}", token)


def menu_command(page, menu, item):
    """Open a menu of the menu bar and click one of its items, once it is enabled."""
    page.click(f'.lm-MenuBar-itemLabel:text-is("{menu}")')
    page.click(f'.lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel:text-is("{item}")')


def see_a_folded_solution(page, cell, source):
    """A solution cell as a student first sees it: only its first line (`# Solution: ...`), no output; one click on
    that line opens the code."""
    for _ in range(100):  # JupyterLab attaches only the cells near the view: scroll down until this one is there
        if cell.count():
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(50)
    cell.evaluate("element => element.scrollIntoView({block: 'center'})")
    placeholder = cell.locator(".jp-InputPlaceholder")
    placeholder.wait_for(state="visible")
    page.screenshot(path=str(SCREENSHOTS / "jupyterlab_01_solution_folded.png"))
    first_line, answer = source.splitlines()[0], source.splitlines()[1]
    assert first_line.startswith("# Solution"), "a folded cell shows its first line: it must not give the answer away"
    assert answer not in cell.inner_text(), "a solution's code shows before the student opens it"
    assert "Correct!" not in cell.inner_text(), "a solution's output (its checker's verdict) shows before it is opened"
    placeholder.click()
    cell.locator(".jp-InputArea-editor").wait_for(state="visible", timeout=10_000)
    assert answer in cell.locator(".jp-InputArea-editor").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "jupyterlab_01_solution_opened.png"))


def test_jupyterlab_runs_the_first_notebook(lab_server, browser):
    base, token = lab_server
    page = new_page(browser, viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/notebooks/01_softmax.ipynb?token={token}&reset", wait_until="domcontentloaded")
    wait_until(page, "document.querySelector('.jp-Notebook .jp-Cell')", "JupyterLab to show 01_softmax.ipynb's cells", seconds=60)
    wait_until(page, "document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\")",
               "the notebook's kernel to start (its status idle)", seconds=60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(ROOT / "notebooks" / "01_softmax.ipynb", as_version=4)
    solutions = [i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", [])]
    page.mouse.move(800, 500)  # over the notebook, for the scroll wheel
    solution = page.locator(f".jp-Notebook .jp-Cell[data-windowed-list-index='{solutions[0]}']")
    see_a_folded_solution(page, solution, nb.cells[solutions[0]].source)
    page.click(".jp-Notebook .jp-Cell >> nth=0")  # make the notebook the current widget: its menu commands enable
    page.keyboard.press("Escape")
    menu_command(page, "Edit", "Clear Outputs of All Cells")  # start from no outputs at all
    wait_until(page, "document.querySelectorAll('.jp-OutputArea-output').length === 0", "Clear Outputs of All Cells to clear them")
    menu_command(page, "Run", "Run All Cells")
    # Done when every exercise and solution has printed its verdict: counted in the outputs, which are there whether a
    # cell's input or output is folded (a folded cell shows no prompt, so prompts cannot be counted)
    verdicts = sum(c.cell_type == "code" and "check_" in c.source and "import" not in c.source for c in nb.cells)
    try:
        wait_until(page, "n => [...document.querySelectorAll('.jp-OutputArea-output')].filter(o => /Correct!|Not yet:/"
                   ".test(o.textContent)).length >= n && ![...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'))",
                   f"Run All Cells to print all {verdicts} checker verdicts of 01_softmax.ipynb", arg=verdicts)
    finally:
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_01_softmax.png"))  # also when it failed: look at it
    errors = page.evaluate("document.querySelectorAll('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]').length")
    outputs = page.evaluate("[...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n')")
    assert errors == 0, outputs[-2000:]
    assert "Softmax of [2.  1.  0.1] is [0.65900114 0.24243297 0.09856589]" in outputs
    assert "Traceback" not in outputs
    assert outputs.count("Correct!") == 3 and outputs.count("Not yet:") == 3  # the exercises and their solutions ran
    sessions = json.loads(urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10).read())
    assert any(s["path"].endswith("01_softmax.ipynb") for s in sessions)

    # The temperature explorer is a live widget: three ArrowRight presses on its slider's handle move T from 2.0 to
    # 2.3, and the kernel redraws the chart (a new image) and prints the new probabilities.
    explorer = page.locator(".jp-OutputArea .softmax-ce-explorer")
    explorer.wait_for()
    explorer.scroll_into_view_if_needed()  # JupyterLab skips rendering cells off screen (content-visibility)
    readout, image = explorer.locator(".softmax-ce-readout"), explorer.locator("img")
    wait_until(page, "document.querySelector('.softmax-ce-explorer img')?.getAttribute('src')", "the temperature explorer's chart")
    before_src = image.get_attribute("src")
    start = " ".join(f"{v:.4f}" for v in torch.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64) / 2.0, dim=0))
    assert f"softmax(z / T) = [{start}]" in readout.text_content()  # the notebook opens it at T = 2
    explorer.locator(".softmax-ce-temperature .noUi-handle").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    try:
        wait_until(page, "document.querySelector('.softmax-ce-explorer .softmax-ce-readout').textContent.includes('(T = 2.30)')",
                   "the temperature explorer's readout to show T = 2.30 after three ArrowRight presses")
    finally:
        page.add_style_tag(content=".Toastify { display: none !important; }")  # JupyterLab's news toast, not ours
        explorer.screenshot(path=str(SCREENSHOTS / "jupyterlab_01_temperature_explorer.png"))
    expected = " ".join(f"{v:.4f}" for v in torch.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64) / 2.3, dim=0))
    assert f"softmax(z / T) = [{expected}]" in readout.text_content()
    assert explorer.locator(".softmax-ce-temperature .widget-readout").text_content().strip() == "2.30"
    # Each widget's change is a message of its own: wait for the figure too (it should already be there)
    page.wait_for_function("src => document.querySelector('.softmax-ce-explorer img').getAttribute('src') !== src", arg=before_src,
                           timeout=10_000)  # a new chart

    # Typed logits: four classes now, at the same temperature
    explorer.locator(".softmax-ce-logits input").fill("5, 0, 0, 1")
    explorer.locator(".softmax-ce-logits input").press("Enter")
    expected = " ".join(f"{v:.4f}" for v in torch.softmax(torch.tensor([5.0, 0.0, 0.0, 1.0], dtype=torch.float64) / 2.3, dim=0))
    wait_until(page, f"document.querySelector('.softmax-ce-explorer .softmax-ce-readout').textContent.includes('[{expected}]')",
               f"the explorer to show softmax(z / T) = [{expected}]")

    # Typed nonsense: the widget says what is wrong and hides the chart, then recovers
    explorer.locator(".softmax-ce-logits input").fill("1, two")
    explorer.locator(".softmax-ce-logits input").press("Enter")
    wait_until(page, "document.querySelector('.softmax-ce-explorer .softmax-ce-readout').textContent.includes(\"'two' is not a number\")",
               "the explorer to say that 'two' is not a number")
    image.wait_for(state="hidden", timeout=10_000)
    explorer.locator(".softmax-ce-logits input").fill("2, 1, 0.1")
    explorer.locator(".softmax-ce-logits input").press("Enter")
    expected = " ".join(f"{v:.4f}" for v in torch.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64) / 2.3, dim=0))
    wait_until(page, f"document.querySelector('.softmax-ce-explorer .softmax-ce-readout').textContent.includes('[{expected}]')",
               f"the explorer to show softmax(z / T) = [{expected}]")
    image.wait_for(state="visible", timeout=10_000)

