"""The figures in images/ are what images/make_images.py draws, up to a rendering difference (anyone can regenerate them)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_committed_figures_match_the_script():
    result = subprocess.run([sys.executable, "images/make_images.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_figure_is_drawn_by_the_script():
    import make_images

    on_disk = {p.name for p in (ROOT / "images").glob("*.png")}
    assert on_disk == set(make_images.FIGURES)


def test_the_check_forgives_rendering_noise_and_catches_a_changed_figure(tmp_path, monkeypatch, capsys):
    import io

    import numpy as np
    from PIL import Image

    import make_images

    monkeypatch.setattr(make_images, "HERE", tmp_path)
    drawn = {name: make_images.render(name) for name in make_images.FIGURES}
    noisy = np.asarray(Image.open(io.BytesIO(drawn["softmax_pipeline.png"])).convert("RGB")).copy()
    noisy[::7, ::5] ^= 1  # what another FreeType release might change: the lowest bit of some pixels
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="png")
    (tmp_path / "softmax_pipeline.png").write_bytes(buf.getvalue())
    (tmp_path / "cross_entropy_true_class.png").write_bytes(drawn["cross_entropy_true_class.png"])
    assert make_images.main(["--check"]) == 0, capsys.readouterr().out
    changed = noisy.copy()
    changed[40:60, 100:160] = 0  # a black patch: what a changed label or a moved bar does, at the same size
    buf = io.BytesIO()
    Image.fromarray(changed).save(buf, format="png")
    (tmp_path / "softmax_pipeline.png").write_bytes(buf.getvalue())
    assert make_images.main(["--check"]) == 1
    assert "images/softmax_pipeline.png differs by an RMS of" in capsys.readouterr().out
    (tmp_path / "cross_entropy_true_class.png").write_bytes(drawn["softmax_pipeline.png"])  # another picture
    assert make_images.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "images/cross_entropy_true_class.png has another size" in out and "run `make images`" in out
