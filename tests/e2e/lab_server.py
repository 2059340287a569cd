"""Start `make lab` for a test: a free port on 127.0.0.1, a random token, and always shut down afterwards."""

import contextlib
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(root=None, timeout=120):
    """Yield (base URL, token) of a JupyterLab started by `make lab` (serving ``root`` instead of the repository)."""
    port, token = free_port(), secrets.token_hex(16)
    command = ["make", "--no-print-directory", "lab", f"LAB_ARGS=--no-browser --ServerApp.port={port} --IdentityProvider.token={token}"]
    if root is not None:
        command.append(f"LAB_ROOT={root}")
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"make lab exited: {log.read().decode(errors='replace')[-2000:]}")
                try:
                    urllib.request.urlopen(urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"}), timeout=5)
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline:
                        pytest.fail(f"JupyterLab did not answer within {timeout} s")
                    time.sleep(0.5)
            yield base, token
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
