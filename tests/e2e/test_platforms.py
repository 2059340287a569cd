"""requirements.txt installs on every supported interpreter and platform, proved without installing.

For each (CPython, platform) pair the README promises, uv resolves requirements.txt for that target from PyPI,
wheels only (`uv pip compile --python-version V --python-platform P --only-binary :all:`). A pair fails with uv's
reason, which names the package that blocks it. The resolution must also need nothing that requirements.txt does
not pin: the one exception is what PyPI's CUDA build of torch brings on Linux (nvidia-*, cuda-*, triton), which
torch itself pins exactly. Needs PyPI: skipped without it, failed under CI.

The 16 resolutions take about 16 s of uv's time, so a passing matrix is remembered in .venv/ for this exact
requirements.txt and uv; CI (a fresh clone) and PLATFORM_MATRIX=fresh always resolve again.
"""

import concurrent.futures
import hashlib
import json
import os
import pathlib
import re
import subprocess

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHONS = ["3.11.0", "3.12.0", "3.13.0", "3.14.0"]
PLATFORMS = {  # name: (uv's target, PEP 508 environment, extra environment for uv)
    "linux-x86_64": ("x86_64-unknown-linux-gnu", {"sys_platform": "linux", "os_name": "posix",
                                                   "platform_system": "Linux", "platform_machine": "x86_64"}, {}),
    "linux-aarch64": ("aarch64-unknown-linux-gnu", {"sys_platform": "linux", "os_name": "posix",
                                                     "platform_system": "Linux", "platform_machine": "aarch64"}, {}),
    "macos14-arm64": ("aarch64-apple-darwin", {"sys_platform": "darwin", "os_name": "posix",
                                               "platform_system": "Darwin", "platform_machine": "arm64"},
                      {"MACOSX_DEPLOYMENT_TARGET": "14.0"}),
    "windows-x86_64": ("x86_64-pc-windows-msvc", {"sys_platform": "win32", "os_name": "nt",
                                                  "platform_system": "Windows", "platform_machine": "AMD64"}, {}),
}
PAIRS = [(python, name) for python in PYTHONS for name in PLATFORMS]
TORCH_CUDA = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")  # what PyPI's Linux torch pins for its CUDA build


def requirements():
    """[Requirement] of requirements.txt (markers kept)."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    return [Requirement(line) for line in lines if line]


def environment(python, name):
    env = {"python_version": ".".join(python.split(".")[:2]), "python_full_version": python,
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    return {**env, **PLATFORMS[name][1]}


def pinned_for(python, name):
    """{name: version} that requirements.txt asks for on this pair."""
    env = environment(python, name)
    return {canonicalize_name(r.name): str(r.specifier).removeprefix("==")
            for r in requirements() if r.marker is None or r.marker.evaluate(env)}


def compile_for(python, name):
    """(exit code, what uv printed) of resolving requirements.txt for the pair."""
    from uv import find_uv_bin

    target, _, extra_env = PLATFORMS[name]
    command = [find_uv_bin(), "pip", "compile", str(ROOT / "requirements.txt"), "--python-version", python,
               "--python-platform", target, "--only-binary", ":all:", "--no-header", "--annotation-style", "line",
               "--no-config", "--no-python-downloads", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **extra_env}, timeout=300)
    return result.returncode, result.stdout + result.stderr


def pypi_answers():
    """The set-up's own network check (tools/course.py), against PyPI."""
    import course
    try:
        course.check_network("https://pypi.org/simple/")
        return True
    except course.SetupError:
        return False


def remembered_path():
    from uv import find_uv_bin

    key = hashlib.sha256((ROOT / "requirements.txt").read_bytes() + find_uv_bin().encode() + repr(PAIRS).encode()
                         + repr(PLATFORMS).encode()).hexdigest()[:16]
    return ROOT / ".venv" / f"platform-matrix-{key}.json"


@pytest.fixture(scope="module")
def resolved():
    remembered = remembered_path()
    if remembered.exists() and not os.environ.get("CI") and os.environ.get("PLATFORM_MATRIX") != "fresh":
        return {tuple(pair): result for pair, result in json.loads(remembered.read_text(encoding="utf-8"))}
    if not pypi_answers():
        message = "PyPI does not answer: the platform matrix resolves requirements.txt there"
        if os.environ.get("CI"):
            pytest.fail("CI is set but " + message)
        pytest.skip(message)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:  # uv waits on the network most of the time
        futures = {pair: pool.submit(compile_for, *pair) for pair in PAIRS}
        results = {pair: future.result() for pair, future in futures.items()}
    if all(code == 0 for code, _ in results.values()) and remembered.parent.is_dir():
        remembered.write_text(json.dumps([[list(pair), result] for pair, result in results.items()]), encoding="utf-8")
    return results


def parse(output):
    """{name: (version, via)} from uv's `name==version  # via a, b` lines."""
    packages = {}
    for line in output.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s+#\s+via\s+(.*))?$", line.strip())
        if match:
            packages[canonicalize_name(match.group(1))] = (match.group(2), match.group(3) or "")
    return packages


def unpinned_extras(python, name, packages):
    """Packages the pair needs that requirements.txt does not pin, as readable complaints."""
    pins, problems = pinned_for(python, name), []
    for package, (version, via) in packages.items():
        if package in pins:
            continue
        if name.startswith("linux") and TORCH_CUDA.match(package):
            continue  # torch's CUDA build pins these exactly itself
        problems.append(f"{package}=={version} (needed by {via or 'requirements.txt'}) is not pinned: add it to "
                        f"requirements.txt, with an environment marker if only {name} needs it")
    return problems


@pytest.mark.parametrize("python, name", PAIRS, ids=[f"py{p}-{n}" for p, n in PAIRS])
def test_requirements_resolve_for(resolved, python, name):
    code, output = resolved[(python, name)]
    assert code == 0, f"requirements.txt does not install on CPython {python}, {name}:\n{output.strip()}"
    packages = parse(output)
    pins = pinned_for(python, name)
    assert not (missing := sorted(set(pins) - set(packages))), f"uv left out {missing} on {python}, {name}"
    different = {p: (pins[p], packages[p][0]) for p in pins if packages[p][0] != pins[p]}
    assert not different, f"uv chose other versions than the pins on {python}, {name}: {different}"
    assert not (problems := unpinned_extras(python, name, packages)), "\n".join(problems)


def test_every_platform_specific_pin_is_needed_somewhere():
    """A pin with a marker that matches no supported pair would be a stale line."""
    for requirement in requirements():
        if requirement.marker is not None:
            assert any(requirement.marker.evaluate(environment(*pair)) for pair in PAIRS), f"{requirement} applies nowhere"


def test_the_matrix_reads_what_uv_prints():
    """The parser and the exception for torch's CUDA packages, on a made-up resolution."""
    output = "numpy==2.4.6  # via -r requirements.txt\nnvidia-cublas==13.1.1.3  # via torch\nfoo==1.0  # via bar\n"
    packages = parse(output)
    assert packages["nvidia-cublas"] == ("13.1.1.3", "torch")
    problems = unpinned_extras("3.12.0", "linux-x86_64", packages)
    assert problems == ["foo==1.0 (needed by bar) is not pinned: add it to requirements.txt, with an environment marker "
                        "if only linux-x86_64 needs it"]
    assert len(unpinned_extras("3.12.0", "windows-x86_64", packages)) == 2  # no CUDA exception off Linux
    assert Marker('sys_platform == "win32"').evaluate(environment("3.11.0", "windows-x86_64"))
