"""`make lab` for real: the server starts on 127.0.0.1 with token auth, serves the notebooks and images, and a
kernel started for a notebook imports the helper package with no install step."""

import json
import pathlib
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websocket
from lab_server import running_lab

ROOT = pathlib.Path(__file__).resolve().parent.parent


def get(url, token=None):
    headers = {"Authorization": f"token {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, r.read()


def post(url, token, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def lab():
    with running_lab() as server:
        yield server


def test_token_is_required(lab):
    base, _ = lab
    with pytest.raises(urllib.error.HTTPError) as err:
        get(f"{base}/api/contents/notebooks")
    assert err.value.code == 403


def test_serves_the_notebooks_and_their_images(lab):
    base, token = lab
    _, body = get(f"{base}/api/contents/notebooks", token)
    names = {item["name"] for item in json.loads(body)["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} <= names
    status, png = get(f"{base}/files/images/softmax_pipeline.png", token)
    assert status == 200 and png.startswith(b"\x89PNG")
    status, page = get(f"{base}/lab/tree/notebooks/01_softmax.ipynb", token)
    assert status == 200 and b"JupyterLab" in page


def test_a_notebook_kernel_imports_the_helper_package(lab):
    base, token = lab
    session = post(f"{base}/api/sessions", token, {"path": "notebooks/01_softmax.ipynb", "type": "notebook",
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
