"""Set up the course's environment and open it: what `make setup`, `make lab` and `make test` run.

    python tools/course.py setup [--torch cpu|default]  build .venv from requirements.txt if missing or stale
    python tools/course.py lab [--root DIR] [ARG ...]   set up, then open JupyterLab (or show the one running)
    python tools/course.py test [PYTEST ARG ...]        set up, then ruff and every test (what `make test` runs)

It runs on the learner's own Python with the standard library only, so that it can say what is missing before it
touches anything:
1. the interpreter: CPython 3.11.0 to 3.14.x (one line says what to install otherwise);
2. nothing to do when .venv was built from this requirements.txt (a stamp file inside it);
3. the package index answers (one line says what to do otherwise);
4. uv, pinned in requirements.txt: the one on PATH if it is that version, else the one in the current .venv, else
   its wheel from PyPI (checked against the SHA-256 in tools/uv-wheels.txt); pip when none of these works;
5. the new environment is built beside the old one, in .venv.partial, checked (it imports the course's packages),
   and only then swapped in: a failed install leaves the .venv you had.
pip's PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and PIP_FIND_LINKS are passed on to uv, so a mirror set up for pip works.
"""

import hashlib
import http.client
import io
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PARTIAL = ROOT / ".venv.partial"  # only this script makes a directory of this name
OLD = ROOT / ".venv.old"
STAMP_NAME = "requirements.installed"
REQUIREMENTS = ROOT / "requirements.txt"
UV_WHEELS = ROOT / "tools" / "uv-wheels.txt"
LAB_OVERRIDES = ROOT / "tools" / "jupyterlab" / "overrides.json"
SUPPORTED = ((3, 11, 0), (3, 15, 0))  # [first, past the last)
PYPI = "https://pypi.org/simple/"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the test target runs: ruff, then the README's pytest command. The Makefile's test target calls this.
TEST_COMMANDS = (
    ["-m", "ruff", "check", "."],
    ["-m", "pytest", "-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder", "--nbval", "--nbval-current-env",
     "tests", "notebooks"],
)
# The new environment must import these before it replaces the old one. Their first import also writes their bytecode
# and matplotlib's font cache (about 15 s in one process): three processes share the cores, and the first notebook
# then starts at full speed.
IMPORT_CHECKS = ("import torch", "import matplotlib.pyplot, numpy", "import jupyterlab, ipykernel, nbval, nbclient, ipywidgets")


class SetupError(Exception):
    """A problem the learner can fix: its message is the one line we print."""


def say(message):
    print(f"course: {message}", flush=True)


# ----------------------------------------------------------------------------- 1. the interpreter


def install_hint():
    """Where a learner gets another CPython, and how to run the set-up with it, on this OS."""
    if sys.platform == "win32":
        return "install one from python.org (64-bit), then run: py -3.12 tools\\course.py lab"
    if sys.platform == "darwin":
        return "install one from python.org or with Homebrew (brew install python@3.12), then run: make lab PYTHON=python3.12"
    return "install one (e.g. sudo apt install python3.12, or from python.org), then run: make lab PYTHON=python3.12"


def check_python(version=None, implementation=None, executable=None, bits=None, free_threaded=None):
    """Raise SetupError unless this is a supported CPython: 3.11.0 to 3.14.x, 64-bit, with the GIL."""
    import sysconfig

    version = tuple(version or sys.version_info[:3])
    implementation = implementation or platform.python_implementation()
    executable = executable or sys.executable
    bits = bits or (64 if sys.maxsize > 2**32 else 32)
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED")) if free_threaded is None else free_threaded
    shown = ".".join(map(str, version))
    first, past = SUPPORTED
    if implementation != "CPython" or not first <= version < past:
        raise SetupError(f"{implementation} {shown} ({executable}) is not supported: the course needs CPython 3.11.0 "
                         f"to 3.14; {install_hint()}")
    if bits != 64:
        raise SetupError(f"{executable} is a 32-bit Python: PyTorch needs a 64-bit one; {install_hint()}")
    if free_threaded:
        raise SetupError(f"{executable} is a free-threaded build (python{shown[:4]}t): the course's packages need the "
                         f"standard build; {install_hint()}")


def interpreter():
    return f"{platform.python_implementation()} {platform.python_version()} {os.path.realpath(sys.executable)}"


# ----------------------------------------------------------------------------- 2. is .venv up to date?


def venv_python(venv):
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def read_stamp(venv):
    try:
        return json.loads((venv / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # no stamp, or the plain copy of requirements.txt that earlier versions of the Makefile wrote
        try:
            old = (venv / STAMP_NAME).read_bytes()
            return {"requirements_sha256": hashlib.sha256(old).hexdigest(), "torch": "default"}
        except OSError:
            return None


def wanted_stamp(torch):
    return {"requirements_sha256": hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest(), "torch": torch,
            "python": interpreter(), "package": str(ROOT / "notebooks")}


def up_to_date(torch, python_given=False):
    """(True when .venv matches requirements.txt, the torch build to install). The interpreter counts only when the
    learner named one (PYTHON=...): otherwise `make test` after `make lab PYTHON=python3.12` would rebuild."""
    stamp = read_stamp(VENV) or {}
    if torch is None:  # not asked: keep the build chosen last time
        torch = stamp.get("torch", "default")
    wanted = wanted_stamp(torch)
    # "package": where the editable install of softmax_ce points (a clone moved elsewhere is set up again)
    keys = ["requirements_sha256", "torch", "package"] + (["python"] if python_given else [])
    fresh = all(stamp.get(k) == wanted[k] for k in keys) and venv_python(VENV).exists()
    return fresh, torch


def check_ours(path):
    """Refuse to replace a .venv this script did not make (it has no stamp)."""
    if path.exists() and read_stamp(path) is None and any(path.iterdir()):
        raise SetupError(f"{path} has no {STAMP_NAME}, so the course's set-up did not finish making it (or it was made "
                         f"by hand): move it away or delete it yourself, then run again")


# ----------------------------------------------------------------------------- 3. the network


def index_url():
    """The package index the installers will use, honouring pip's and uv's environment variables."""
    return os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or PYPI


def check_network(url=None, timeout=15):
    url = url or index_url()
    if not url.startswith(("http://", "https://")):
        return
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        parts = urllib.parse.urlsplit(url)
        url = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()  # never print a password
        hint = ""
        if "CERTIFICATE_VERIFY_FAILED" in str(reason):
            hint = " (on macOS with python.org's Python, run 'Install Certificates.command' in its folder once)"
        raise SetupError(f"cannot reach {url} ({reason}){hint}: the first set-up downloads the course's packages, "
                         f"so connect to the internet (or set PIP_INDEX_URL to your mirror) and run again") from None


# ----------------------------------------------------------------------------- 4. uv


def pinned(name):
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        spec = line.split("#")[0].split(";")[0].strip()
        if spec.lower().startswith(name.lower() + "=="):
            return spec.split("==", 1)[1]
    raise SetupError(f"requirements.txt does not pin {name}")


def uv_version(path):
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split()
    return parts[1] if len(parts) >= 2 and parts[0] == "uv" else None


def wheel_tag():
    """The part of uv's wheel name that fits this machine, or None (then pip installs)."""
    machine = platform.machine().lower()
    if sys.platform == "darwin":
        return "macosx_11_0_arm64" if machine == "arm64" else "macosx_10_12_x86_64"
    if sys.platform == "win32":
        return "win_arm64" if machine == "arm64" else "win_amd64" if machine in ("amd64", "x86_64") else None
    if sys.platform.startswith("linux"):
        musl = "musl" in (platform.libc_ver()[0] or "musl")
        if machine in ("x86_64", "amd64"):
            return "musllinux_1_1_x86_64" if musl else "manylinux_2_17_x86_64"
        if machine in ("aarch64", "arm64"):
            return "musllinux_1_1_aarch64" if musl else "manylinux_2_17_aarch64"
    return None


def uv_wheel(tag):
    """(file name, URL, SHA-256) of uv's pinned wheel for ``tag``, from tools/uv-wheels.txt."""
    for line in UV_WHEELS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sha256, url = line.split()
            if tag in name:
                return name, url, sha256
    return None


def download_uv(into, version):
    """Fetch uv's wheel for this machine with urllib, check its SHA-256, and unpack the binary into ``into``."""
    tag = wheel_tag()
    entry = uv_wheel(tag) if tag else None
    if entry is None:
        return None
    name, url, sha256 = entry
    if f"uv-{version}-" not in name:
        raise SetupError(f"tools/uv-wheels.txt lists {name}, but requirements.txt pins uv=={version}")
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SetupError(f"{name} from {url} does not have the SHA-256 in tools/uv-wheels.txt: not installing it")
    exe = "uv.exe" if os.name == "nt" else "uv"
    archive = zipfile.ZipFile(io.BytesIO(data))
    member = next(m for m in archive.namelist() if m.endswith(f".data/scripts/{exe}"))
    target = pathlib.Path(into) / exe
    target.write_bytes(archive.read(member))
    target.chmod(0o755)
    return target


def find_uv(scratch, installer="uv"):
    """A uv of the pinned version: on PATH, in the current .venv, or downloaded into ``scratch``; else None."""
    if installer == "pip":
        return None
    version = pinned("uv")
    candidates = [shutil.which("uv"), VENV / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")]
    for candidate in candidates:
        if candidate and pathlib.Path(candidate).exists() and uv_version(candidate) == version:
            return pathlib.Path(candidate)
    try:
        path = download_uv(scratch, version)
    except (urllib.error.URLError, OSError, zipfile.BadZipFile, StopIteration, http.client.HTTPException) as err:
        say(f"could not download uv {version} ({err}); installing with pip instead (slower)")
        return None
    return path if path and uv_version(path) == version else None


def pip_settings_for_uv():
    """pip's index settings from the environment, as uv's options (uv does not read pip's variables)."""
    options = []
    if not (os.environ.get("UV_INDEX_URL") or os.environ.get("UV_DEFAULT_INDEX")) and os.environ.get("PIP_INDEX_URL"):
        options += ["--index-url", os.environ["PIP_INDEX_URL"]]
    if not (os.environ.get("UV_EXTRA_INDEX_URL") or os.environ.get("UV_INDEX")):
        for url in os.environ.get("PIP_EXTRA_INDEX_URL", "").split():
            options += ["--extra-index-url", url]
    if not os.environ.get("UV_FIND_LINKS"):
        for place in os.environ.get("PIP_FIND_LINKS", "").split():
            options += ["--find-links", place]
    return options


# ----------------------------------------------------------------------------- 5. build beside, check, swap


def run_together(commands, log):
    """Run ``commands`` at the same time; raise if any fails (what they print goes to ``log``)."""
    log.write("".join(f"$ {' '.join(map(str, c))} &\n" for c in commands))
    log.flush()
    start = time.monotonic()
    processes = [subprocess.Popen([str(c) for c in command], stdout=log, stderr=subprocess.STDOUT) for command in commands]
    codes = [process.wait() for process in processes]
    log.write(f"# {time.monotonic() - start:.1f} s, exit codes {codes}\n")
    for command, code in zip(commands, codes):
        if code:
            raise subprocess.CalledProcessError(code, command)


def run(command, log):
    log.write(f"$ {' '.join(map(str, command))}\n")
    log.flush()
    start = time.monotonic()
    result = subprocess.run([str(c) for c in command], stdout=log, stderr=subprocess.STDOUT)
    log.write(f"# {time.monotonic() - start:.1f} s, exit code {result.returncode}\n")
    if result.returncode:
        raise subprocess.CalledProcessError(result.returncode, command)


def install_commands(uv, torch):
    python = venv_python(PARTIAL)
    if uv is not None:
        extra = ["--torch-backend", "cpu"] if torch == "cpu" else []
        return [
            [uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, PARTIAL],
            # --system-certs: trust what the system trusts (as Python's own download of uv did), so a network whose
            # proxy re-signs HTTPS with its own certificate authority (schools, companies) works without settings
            [uv, "pip", "install", "--quiet", "--system-certs", "--python", python, "-r", REQUIREMENTS, "-e", ROOT,
             *pip_settings_for_uv(), *extra],
        ]
    extra = ["--extra-index-url", TORCH_CPU_INDEX] if torch == "cpu" else []
    return [
        [sys.executable, "-m", "venv", PARTIAL],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS, "-e", ROOT, *extra],
    ]


def relocate_scripts(venv, old, new):
    """pip writes absolute paths into scripts (#!.../.venv.partial/bin/python): point them at the final place."""
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    old_bytes, new_bytes = str(old).encode(), str(new).encode()
    for path in bin_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if old_bytes in data and b"\0" not in data[:1024]:  # text scripts only
                path.write_bytes(data.replace(old_bytes, new_bytes))


PARTIAL_MARK = "made-by-course-setup"  # written into .venv.partial at once: the proof it is ours to delete


def is_ours(path):
    """Whether ``path`` is a directory this script made: a staged env (its mark, or a venv under our odd name) or
    a .venv.old with our stamp."""
    if not path.is_dir():
        return False
    return (path / PARTIAL_MARK).exists() or (path == PARTIAL and (path / "pyvenv.cfg").exists()) \
        or read_stamp(path) is not None


def remove_ours(path):
    """Delete a staging or old environment this script made; refuse anything else."""
    if not os.path.lexists(path):
        return
    if not is_ours(path):
        raise SetupError(f"{path} is in the way and was not made by the course's set-up: move it away (or delete it "
                         f"yourself), then run again")
    shutil.rmtree(path, ignore_errors=True)


def recover():
    """An interrupted swap can leave the working environment at .venv.old: put it back before anything else."""
    if is_ours(OLD) and read_stamp(OLD) is not None and not VENV.exists():
        OLD.rename(VENV)
        say("found the previous .venv at .venv.old (an interrupted set-up) and put it back")


def lab_settings(venv):
    """JupyterLab reads overrides.json from the environment's application settings: the course's defaults."""
    target = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    wanted = LAB_OVERRIDES.read_bytes()
    if not target.exists() or target.read_bytes() != wanted:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wanted)


def no_ensurepip():
    short = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return SetupError(f"{sys.executable} has no venv/ensurepip, which installing with pip needs: on Debian/Ubuntu "
                      f"`sudo apt install {short}-venv`, or let the set-up use uv (drop INSTALLER=pip)")


def check_ensurepip():
    """pip's way needs the venv module with ensurepip, which Debian and Ubuntu ship apart (python3-venv)."""
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        raise no_ensurepip() from None


def build(torch, installer="uv"):
    """Build .venv.partial, check it, and swap it in for .venv."""
    check_ours(VENV)
    check_network()
    if VENV.exists() and venv_python(VENV).exists():
        url = running_server(ROOT)
        if url:
            raise SetupError(f"requirements.txt changed, but JupyterLab is running from this .venv ({url}): stop it "
                             f"(Ctrl-C in its terminal, then y) and run again; your .venv is unchanged")
    remove_ours(PARTIAL)  # left over from an interrupted set-up
    remove_ours(OLD)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-setup-") as scratch:
        found = time.monotonic()
        uv = find_uv(scratch, installer)
        found = time.monotonic() - found
        if uv is None:
            check_ensurepip()
        tool = f"uv {pinned('uv')}" if uv else "pip"
        say(f"building .venv with {tool} for Python {platform.python_version()} ({sys.executable}), "
            f"torch build: {torch}; this takes 15-40 s with uv (plus downloading PyTorch), minutes with pip")
        log_path = ROOT / ".venv.partial.log"
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                log.write(f"# uv: {uv} (found or fetched in {found:.1f} s)\n")
                for i, command in enumerate(install_commands(uv, torch)):
                    run(command, log)
                    if i == 0:
                        (PARTIAL / PARTIAL_MARK).write_text("tools/course.py is building this environment\n", encoding="utf-8")
                if uv is None:
                    relocate_scripts(PARTIAL, PARTIAL, VENV)
                run_together([[venv_python(PARTIAL), "-c", check] for check in IMPORT_CHECKS], log)
            lab_settings(PARTIAL)
            (PARTIAL / STAMP_NAME).write_text(json.dumps(wanted_stamp(torch), indent=1), encoding="utf-8")
            (PARTIAL / PARTIAL_MARK).unlink()
        except (subprocess.CalledProcessError, OSError) as err:
            remove_ours(PARTIAL)
            log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
            print("\n".join(log.strip().splitlines()[-15:]), file=sys.stderr)
            if "ensurepip is not" in log:  # Debian's venv without python3-venv: say which package to install
                raise no_ensurepip() from None
            kept = "your .venv is unchanged" if VENV.exists() else "no .venv was made"
            raise SetupError(f"installing the packages failed ({err}); {kept}. The full log: {log_path}") from None
    log_path.replace(PARTIAL / "setup.log")  # kept inside the new .venv: how it was built, and how long it took
    swap()
    say(f".venv is ready ({time.monotonic() - start:.0f} s)")


def swap():
    """.venv -> .venv.old, .venv.partial -> .venv, delete .venv.old; undone if the second step fails. Ctrl-C waits."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # two renames: never stop between them
    try:
        had_one = VENV.exists()
        if had_one:
            try:
                VENV.rename(OLD)
            except OSError as err:
                remove_ours(PARTIAL)
                raise SetupError(f"cannot replace .venv ({err}): is JupyterLab or another program still running from "
                                 f"it? Stop it and run again; your .venv is unchanged") from None
        try:
            PARTIAL.rename(VENV)
        except OSError as err:
            if had_one:
                OLD.rename(VENV)
            remove_ours(PARTIAL)
            raise SetupError(f"cannot move the new environment into place ({err}); your .venv is unchanged") from None
    finally:
        signal.signal(signal.SIGINT, previous)
    shutil.rmtree(OLD, ignore_errors=True)


def setup(torch=None, installer="uv", python_given=False):
    check_python()
    recover()
    fresh, torch = up_to_date(torch, python_given)
    if not fresh:
        build(torch, installer)
    lab_settings(VENV)


# ----------------------------------------------------------------------------- lab and test


def running_server(root):
    """URL (with token) of a JupyterLab already serving ``root`` from .venv, or None."""
    code = ("import json; from jupyter_server.serverapp import list_running_servers; "
            "print(json.dumps(list(list_running_servers())))")
    try:
        out = subprocess.run([str(venv_python(VENV)), "-c", code], capture_output=True, text=True, timeout=60).stdout
        servers = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None  # no working .venv: then nothing runs from it either
    for server in servers:
        if pathlib.Path(server.get("root_dir", "")).resolve() == pathlib.Path(root).resolve():
            return f"{server['url'].rstrip('/')}/lab/tree/notebooks?token={server.get('token', '')}"
    return None


def lab_command(root, args):
    root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # CI and containers only
    return [str(venv_python(VENV)), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
            "--LabApp.default_url=/lab/tree/notebooks", *root_flag, *args]


def lab(root, args, torch=None, installer="uv", python_given=False):
    setup(torch, installer, python_given)
    url = running_server(root)
    if url:
        say(f"JupyterLab is already running for this course: {url}")
        say("open that address, or stop that server first (Ctrl-C in its terminal, then y) to start a new one")
        if "--no-browser" not in args:
            import webbrowser

            webbrowser.open(url)
        return 0
    command = lab_command(root, args)
    if os.name == "nt":
        return call_ignoring_ctrl_c(command)
    os.execv(command[0], command)  # JupyterLab takes over this process: Ctrl-C goes straight to it


def call_ignoring_ctrl_c(command, **kwargs):
    """Run ``command`` and return its exit code; Ctrl-C is the child's to handle (JupyterLab's prompt, pytest's
    summary), not a reason for this process to kill it."""
    import signal

    process = subprocess.Popen(command, **kwargs)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def test(args, torch=None, installer="uv", python_given=False):
    setup(torch, installer, python_given)
    for command in TEST_COMMANDS:
        code = call_ignoring_ctrl_c([str(venv_python(VENV)), *command, *(args if "pytest" in command else [])], cwd=ROOT)
        if code:
            return code
    return 0


def parse(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="tools/course.py", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("command", choices=["setup", "lab", "test"])
    parser.add_argument("--torch", choices=["cpu", "default"], default=None,
                        help="cpu: PyTorch's CPU-only build (from download.pytorch.org); default: PyPI's "
                             "(the CUDA build on Linux). Remembered for later set-ups.")
    parser.add_argument("--installer", choices=["uv", "pip"], default="uv",
                        help="uv (default, seconds) or pip (minutes; needs venv/ensurepip)")
    parser.add_argument("--root", default=str(ROOT), help="lab: the directory JupyterLab serves")
    parser.add_argument("--this-python", action="store_true",
                        help="rebuild .venv if another interpreter built it (the Makefile passes it for PYTHON=...)")
    return parser.parse_known_args(argv)  # the rest goes to JupyterLab (lab) or pytest (test)


def main(argv=None):
    options, rest = parse(sys.argv[1:] if argv is None else argv)
    try:
        if options.command == "setup":
            if rest:
                raise SetupError(f"setup takes no arguments: {' '.join(rest)}")
            setup(options.torch, options.installer, options.this_python)
            return 0
        if options.command == "lab":
            return lab(pathlib.Path(options.root).resolve(), rest, options.torch, options.installer, options.this_python)
        return test(rest, options.torch, options.installer, options.this_python)
    except SetupError as err:
        print(f"course: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        building = PARTIAL.exists()
        if building:
            remove_ours(PARTIAL)
        print("course: interrupted" + ("; your .venv is unchanged" if building else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
