"""Figure titles made from a long analysis title are wrapped to fit the figure (canvas.wrapped,
canvas.tight_layout): before, the funnel, Baujat, shrinkage, exceedance and prior-posterior
figures of an analysis titled "Objective response rate, logit-normal random effects (GLMM
analogue)" were cut at both edges of the figure ("ective response rate ... P(rate >")."""

from __future__ import annotations

import matplotlib.text
import pytest

from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.pipeline.run import run_analysis
from bayes_anlo.report import canvas
from bayes_anlo.spec import load_spec
from tests.pipeline.conftest import CSV, SPEC

LONG = (
    "Objective response rate of anlotinib across the extracted single-arm studies, logit-normal "
    "random effects (GLMM analogue) <b>with</b> $markup$"
)


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Every figure of a binary analysis with a long title (exact engine), built."""
    base = tmp_path_factory.mktemp("long")
    (base / "studies.csv").write_text(CSV)
    spec_path = base / "spec.toml"
    spec_path.write_text(SPEC.replace('title = "Synthetic ORR"', f'title = "{LONG}"'))
    spec = load_spec(spec_path)
    entry = spec.analyses[0]
    result = run_analysis(entry, spec=spec, sampler=SamplerSettings(**spec.sampler), index=0)
    return {name: canvas.built(fig) for name, fig in result.figures.items()}


def _titles(fig) -> list[matplotlib.text.Text]:
    texts = [ax.title for ax in fig.axes if ax.title.get_text()]
    texts += [t for t in fig.findobj(matplotlib.text.Text) if "markup" in t.get_text()]
    return list({id(t): t for t in texts}.values())


def test_every_title_lies_inside_its_figure(figures):
    assert {"funnel", "baujat", "shrinkage", "exceedance", "prior_posterior", "ppc"} <= set(figures)
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        fig.draw_without_rendering()
        titles = _titles(fig)
        assert titles, name
        for title in titles:
            box = title.get_window_extent(renderer)
            assert box.x0 >= -0.5 and box.x1 <= fig.bbox.x1 + 0.5, (name, title.get_text())
        # the words are all there, in order, and drawn literally (no markup parsed)
        shown = " ".join(t.get_text().replace("\n", " ") for t in titles)
        assert LONG in shown, name
        assert all(not t.get_parse_math() for t in titles), name
        canvas.close(fig)


def test_wrapped_breaks_at_spaces_only_when_needed():
    fig = canvas.new_figure(figsize=(4.0, 3.0))
    assert canvas.wrapped(fig, "short title", 3.0, 10) == "short title"
    text = " ".join(["word"] * 40)
    lines = canvas.wrapped(fig, text, 3.0, 10).split("\n")
    assert len(lines) > 1 and " ".join(lines) == text
    renderer = fig.canvas.get_renderer()
    props = matplotlib.font_manager.FontProperties(size=10)
    for line in lines:
        width = renderer.get_text_width_height_descent(line, props, ismath=False)[0]
        assert width <= 3.0 * fig.dpi
    # a single word wider than the room keeps its own line
    assert canvas.wrapped(fig, "a " + "x" * 200 + " b", 1.0, 10).split("\n") == [
        "a",
        "x" * 200,
        "b",
    ]
