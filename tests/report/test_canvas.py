"""Saving a figure draws it once (no second text layout for ``bbox_inches="tight"`` or a
pre-draw for the layout engine) and writes the figure's own size."""

from __future__ import annotations

import matplotlib.image
import matplotlib.text
import numpy as np
import pytest

from bayes_anlo.report import canvas, plots


@canvas.literal_text
def _constrained_figure():
    fig = canvas.new_figure(figsize=(4.0, 3.0), dpi=50, layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="line ($x$)")
    fig.legend(loc="outside lower center")
    ax.set_title("constrained")
    return fig


def _exceedance_figure():
    draws = {"pooled": np.random.default_rng(1).beta(2, 8, 400)}
    curve = plots.exceedance_curve(draws, np.linspace(0, 1, 41))
    return plots.exceedance_plot(curve, (0.2,), title="P(rate > t)", outcome="ORR")


@pytest.mark.parametrize("make", [_exceedance_figure, _constrained_figure])
def test_save_draws_once_and_keeps_the_figure_size(make, tmp_path, monkeypatch):
    fig = make()
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    path = tmp_path / "figure.png"
    canvas.save(fig, path)
    assert len(draws) == 1
    height, width = matplotlib.image.imread(path).shape[:2]
    expected = np.round(fig.get_size_inches() * fig.dpi).astype(int)
    assert (width, height) == tuple(expected)


def test_save_asks_for_few_text_layouts(tmp_path, monkeypatch):
    """Text layout is the cost of saving a figure. Counting the requests (cached or not) while one
    figure is saved: about 3 per visible text in the single draw now, 8 with the former
    ``savefig(bbox_inches="tight")`` (a draw for the layout, one for the tight box, one to render,
    each with a fresh renderer)."""
    fig = _exceedance_figure()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    layouts = []
    original = matplotlib.text.Text._get_layout

    def counting(self, renderer):
        layouts.append(self)
        return original(self, renderer)

    monkeypatch.setattr(matplotlib.text.Text, "_get_layout", counting)
    canvas.save(fig, tmp_path / "figure.png")
    assert texts and len(layouts) <= 4 * len(texts)


def test_saved_png_holds_exactly_the_drawn_pixels(tmp_path):
    """The faster PNG compression level changes the file, never the image."""
    fig = _exceedance_figure()
    fig.canvas.draw()
    drawn = np.asarray(fig.canvas.buffer_rgba()).copy()
    canvas.save(fig, tmp_path / "figure.png")
    saved = np.round(matplotlib.image.imread(tmp_path / "figure.png") * 255).astype(np.uint8)
    np.testing.assert_array_equal(saved, drawn)
