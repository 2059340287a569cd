"""The environment `make setup` builds: exactly the pins in requirements.txt, nothing drifted since."""

import importlib.metadata
import importlib.util
import pathlib
import re

from packaging.markers import Marker
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parents[2]
# name==version, optionally for some platforms only: `colorama==0.4.6 ; sys_platform == "win32"`
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.!+-]*)(?:\s*;\s*(.+))?$")


def requirement_lines():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def test_every_requirement_is_an_exact_pin():
    loose = [line for line in requirement_lines() if not PIN.match(line)]
    assert not loose, f"requirements.txt must pin name==version exactly (a ' ; marker' may follow): {loose}"
    names = [PIN.match(line).group(1).lower().replace("_", "-") for line in requirement_lines()]
    assert len(names) == len(set(names)), "a package is pinned twice"


def test_the_environment_has_exactly_the_pinned_versions():
    wrong = {}
    for match in filter(None, map(PIN.match, requirement_lines())):  # a loose line fails the test above
        name, pinned, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue  # another platform's pin
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        # torch's CPU wheel is 2.13.0+cpu: a local version label, which `torch==2.13.0` accepts (PEP 440)
        if installed == "not installed" or Version(installed).public != Version(pinned).public:
            wrong[name] = f"pinned {pinned}, found {installed}"
    assert not wrong, f"the environment drifted from requirements.txt (delete .venv, then make setup): {wrong}"


def test_jsonschema_does_not_bring_rfc3987_syntax():
    """jsonschema 4.24+ imports rfc3987_syntax, which spends about a second building parsers in every process
    that imports nbformat: the pytest controller, both workers, JupyterLab, the hooks (requirements.txt says more)."""
    assert importlib.util.find_spec("rfc3987_syntax") is None, "rfc3987-syntax is installed: which package pulled it in?"
