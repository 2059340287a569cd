"""How much memory a call takes: the growth of the process's peak resident set size (benchmarks/large_vocab.py).

Kept apart from the teaching modules: it reads /proc on Linux, tunes glibc's allocator, and falls back to the
``resource`` module on macOS. Where neither exists (Windows) it measures nothing and says so with None.
"""

import sys


def _vm_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def _return_freed_memory_at_once():
    """Ask glibc to serve every allocation above 64 KiB with mmap, so a free gives the memory back to the OS.

    Otherwise freed buffers stay in the heap, and the next measurement would reuse them unseen.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 65536)  # M_MMAP_THRESHOLD
        libc.malloc_trim(0)  # and give back what the heap already keeps
    except (OSError, AttributeError):
        pass  # not glibc: measurements are rougher


def peak_rss_growth_mb(fn, *args, **kwargs):
    """Run ``fn`` and return (its result, how many MiB (2**20 bytes) it raised the peak resident set size above the current one).

    On Linux the peak (VmHWM) is reset first, so every call is measured on its own; the first call also sets
    glibc's mmap threshold to 64 KiB for the rest of the process (see ``_return_freed_memory_at_once``).
    On macOS the process-wide maximum (ru_maxrss) is used, which is only right for the first large call.
    Where neither exists (Windows: no /proc, no ``resource`` module) the MiB are None: not measured.
    """
    _return_freed_memory_at_once()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
        before = _vm_kib("VmRSS")
    except OSError:
        before = None
    if before is not None:
        result = fn(*args, **kwargs)
        return result, (_vm_kib("VmHWM") - before) / 1024
    try:
        import resource  # Unix only: imported here so that the package imports on Windows
    except ImportError:
        return fn(*args, **kwargs), None
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
    result = fn(*args, **kwargs)
    return result, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit - before) / 2**20
