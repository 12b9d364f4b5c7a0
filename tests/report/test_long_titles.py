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


CASES = {
    "long": (LONG, ""),
    # found by a hostile test: no spaces to break at, wide capitals, and a wrapped title on a
    # short figure (three studies), whose legend then sat on the x-axis label
    "long word": ("Short words then " + "B" * 150 + " then more words", ""),
    "wide": ("WWWWWWWWW " * 29 + "WWWWWWWWW", ""),
    "three studies": (
        "Objective response rate across bone sarcoma subtypes, logit-normal random effects "
        "(GLMM analogue), with sensitivity analyses over priors",
        'where = { subgroup = "bone" }\n',
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def figures(request, tmp_path_factory):
    """Every figure of a binary analysis with a long title (exact engine), built."""
    title, where = CASES[request.param]
    base = tmp_path_factory.mktemp("long")
    (base / "studies.csv").write_text(CSV)
    spec_path = base / "spec.toml"
    spec_path.write_text(SPEC.replace('title = "Synthetic ORR"', f'title = "{title}"\n{where}', 1))
    spec = load_spec(spec_path)
    entry = spec.analyses[0]
    result = run_analysis(entry, spec=spec, sampler=SamplerSettings(**spec.sampler), index=0)
    return title, {name: canvas.built(fig) for name, fig in result.figures.items()}


def _titles(fig, title: str) -> list[matplotlib.text.Text]:
    texts = [ax.title for ax in fig.axes if ax.title.get_text()]
    start = title.split(" ")[0][:8]
    texts += [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().startswith(start)]
    return list({id(t): t for t in texts}.values())


def test_every_title_lies_inside_its_figure(figures):
    title, figures = figures
    assert {"shrinkage", "exceedance", "prior_posterior", "ppc"} <= set(figures)
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        fig.draw_without_rendering()
        titles = _titles(fig, title)
        assert titles, name
        for text in titles:
            box = text.get_window_extent(renderer)
            inside = box.x0 >= -0.5 and box.x1 <= fig.bbox.x1 + 0.5 and box.y1 <= fig.bbox.y1 + 0.5
            assert inside, (name, text.get_text())
        # the words are all there, in order, and drawn literally (no markup parsed)
        shown = "".join(t.get_text().replace("\n", "").replace(" ", "") for t in titles)
        assert title.replace(" ", "") in shown, name
        assert all(not t.get_parse_math() for t in titles), name
        canvas.close(fig)


def test_the_shrinkage_legend_is_clear_of_the_axis_label_and_inside_the_figure(figures):
    """Found by a hostile test: with three studies the legend, placed below the axes in axes
    units, sat on the x-axis label (with a wrapped title it fell below the figure)."""
    title, figures = figures
    fig = figures["shrinkage"]
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    label = fig.axes[0].xaxis.label.get_window_extent(renderer)
    assert box.y1 <= label.y0 + 0.5, title
    assert box.y0 >= -0.5, title
    canvas.close(fig)


def test_wrapped_breaks_at_spaces_only_when_needed():
    assert canvas.wrapped("short title", 3.0, 10) == "short title"
    text = " ".join(["word"] * 40)
    lines = canvas.wrapped(text, 3.0, 10).split("\n")
    assert len(lines) > 1 and " ".join(lines) == text
    fig = canvas.new_figure(figsize=(4.0, 3.0), dpi=110)
    renderer = fig.canvas.get_renderer()
    props = matplotlib.font_manager.FontProperties(
        family=canvas.figure_rc()["font.family"], size=10
    )
    for line in lines:  # as the figure's own renderer measures them, at its dpi
        width = renderer.get_text_width_height_descent(line, props, ismath=False)[0]
        assert width <= 3.0 * fig.dpi * 1.01


@pytest.mark.parametrize(
    "word",
    [
        "x" * 200,  # one long identifier
        "\u6297\u8840\u7ba1\u751f\u6210" * 30,  # CJK: no spaces at all
        "word\u00a0" * 60,  # joined by non-breaking spaces
        "W" * 120,  # wide capitals
    ],
)
def test_a_word_wider_than_the_line_is_broken_between_characters(word):
    """Found by a hostile test: a title without spaces ran past both edges of every figure."""
    lines = canvas.wrapped(f"a {word} b", 2.0, 10).split("\n")
    assert lines[0] == "a" and lines[-1] == "b"
    assert "".join(lines[1:-1]) == word and len(lines) > 3
    props = matplotlib.font_manager.FontProperties(
        family=canvas.figure_rc()["font.family"], size=10
    )
    renderer = canvas.new_figure(figsize=(4.0, 3.0), dpi=110).canvas.get_renderer()
    widths = [renderer.get_text_width_height_descent(x, props, ismath=False)[0] for x in lines]
    assert all(width <= 2.0 * 110 for width in widths)


@pytest.mark.parametrize("title", ["      ", "tab\tinside", "a\u0007bell"])
def test_a_blank_title_or_one_with_control_characters_is_refused_where_it_stands(tmp_path, title):
    """Found by a hostile test: a title of spaces only gave figures titled ": shrinkage", and a
    tab was drawn as a missing-glyph box."""
    from bayes_anlo.errors import InputError

    (tmp_path / "studies.csv").write_text(CSV)
    escaped = title.replace("\t", "\\t").replace("\u0007", "\\u0007")
    (tmp_path / "spec.toml").write_text(
        SPEC.replace('title = "Synthetic ORR"', f'title = "{escaped}"', 1)
    )
    with pytest.raises(InputError) as caught:
        load_spec(tmp_path / "spec.toml")
    message = str(caught.value)
    assert "analyses[1]:title" in message and "title" in message and "not blank" in message
