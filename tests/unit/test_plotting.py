"""softmax_ce.plotting.show: a figure is published with its description, at 100 dpi for the notebooks and sharper
for the handout's print (SOFTMAX_CE_FIGURE_DPI), the same size on the page either way."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from softmax_ce import plotting  # noqa: E402


@pytest.fixture
def published(monkeypatch):
    """What show() hands to IPython's display: a list of (bundle, metadata)."""
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, metadata=None, raw=False: calls.append((bundle, metadata)))
    return calls


def a_figure():
    with matplotlib.rc_context(plotting.COURSE_STYLE):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2], label="a")
        ax.plot([0, 1, 2], [2, 1, 0], label="b")
    return fig


def test_a_figure_carries_its_description(published, monkeypatch):
    monkeypatch.delenv(plotting.DPI_VARIABLE, raising=False)
    plotting.show(a_figure(), alt="  Two lines crossing at x = 1.  ")
    (bundle, metadata), = published
    assert set(bundle) == {"image/png", "text/plain"}
    assert bundle["text/plain"] == "Figure: Two lines crossing at x = 1."
    assert metadata == {"image/png": {"alt": "Two lines crossing at x = 1."}}  # no size: drawn at 100 dpi


@pytest.mark.parametrize("alt, error", [(None, TypeError), (3, TypeError), ("", ValueError), ("   ", ValueError)])
def test_a_figure_without_a_description_is_refused(published, alt, error):
    with pytest.raises(error, match="alt"):
        plotting.show(a_figure(), alt)
    assert not published


def test_print_figures_have_more_pixels_and_the_same_size_on_the_page(published, monkeypatch):
    monkeypatch.delenv(plotting.DPI_VARIABLE, raising=False)
    plotting.show(a_figure(), alt="the figure at 100 dpi")
    monkeypatch.setenv(plotting.DPI_VARIABLE, "200")
    plotting.show(a_figure(), alt="the figure at 200 dpi")
    small, large = (plotting._pixels(bundle["image/png"]).shape for bundle, _ in published)
    assert abs(large[0] - 2 * small[0]) <= 2 and abs(large[1] - 2 * small[1]) <= 2
    size = published[1][1]["image/png"]
    assert abs(size["width"] - small[1]) <= 1 and abs(size["height"] - small[0]) <= 1


@pytest.mark.parametrize("value", ["high", "20", "2000", "1.5"])
def test_a_bad_resolution_says_what_it_must_be(monkeypatch, value):
    monkeypatch.setenv(plotting.DPI_VARIABLE, value)
    with pytest.raises(ValueError, match="SOFTMAX_CE_FIGURE_DPI must be a whole number"):
        plotting.print_scale()


def test_lines_differ_in_style_not_only_in_colour():
    fig = a_figure()
    first, second = fig.axes[0].get_lines()
    assert first.get_color() != second.get_color() and first.get_linestyle() != second.get_linestyle()
    plt.close(fig)
