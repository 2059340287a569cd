"""One rule for the folders the tools build (handout editions, slides): build beside, swap in, never replace a
folder the tool did not make."""

import shutil


def rebuild(final, mark, tool, fill):
    """Build ``final`` anew: ``fill(staging)`` fills .NAME.partial beside it (holding the file ``mark``), which then
    replaces ``final``. Refuses, touching nothing, when ``final`` or a leftover .partial/.old folder lacks ``mark``
    (another tool's or the user's); a failed fill removes only its own staging folder. Returns what ``fill`` returns."""
    staging, old = final.parent / f".{final.name}.partial", final.parent / f".{final.name}.old"
    for path in (final, staging, old):
        if path.exists() and not (path / mark).exists():
            raise SystemExit(f"{tool}: {path} is not a folder {tool} made (it has no {mark}): move it away or "
                             f"pass another --out; nothing was changed")
    for path in (staging, old):
        if path.exists():
            shutil.rmtree(path)
    staging.mkdir(parents=True)
    (staging / mark).write_text(f"made by {tool}: it replaces this folder when it builds again\n", encoding="utf-8")
    try:
        result = fill(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ours, half built; the previous build stays
        raise
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return result
