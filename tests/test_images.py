"""The figures in images/ are exactly what images/make_images.py draws (so anyone can regenerate them)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_committed_figures_match_the_script():
    result = subprocess.run([sys.executable, "images/make_images.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_figure_is_drawn_by_the_script():
    sys.path.insert(0, str(ROOT / "images"))
    import make_images

    on_disk = {p.name for p in (ROOT / "images").glob("*.png")}
    assert on_disk == set(make_images.FIGURES)
