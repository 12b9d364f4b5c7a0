"""A title or study label in Chinese is drawn from a CJK font where one is installed, not as
the empty boxes of DejaVu Sans (matplotlib's only default font), which lacks those characters."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.font_manager as fm
import numpy as np
import pytest

from bayes_anlo.report import canvas, plots

#: Set by .ci/run, which installs a CJK font: there the test must run, not skip.
REQUIRED = os.environ.get("BAYES_ANLO_REQUIRE_FONTS") == "1"
#: File names of fonts of canvas.FALLBACK_FAMILIES that Linux distributions install.
_FILES = ("wqy-microhei", "wqy-zenhei", "notosanscjk", "sourcehansans")


@pytest.fixture(scope="module")
def cjk_font():
    """matplotlib lists the system's fonts once, in its cache: a font installed after that
    (as on a machine whose cache was built before the test font was installed) is added here."""
    known = {entry.fname for entry in fm.fontManager.ttflist}
    for path in fm.findSystemFonts():
        name = Path(path).name.lower().replace("-", "")
        if path not in known and any(key.replace("-", "") in name for key in _FILES):
            fm.fontManager.addfont(path)
    if not canvas.fallback_families():
        message = "no CJK font of canvas.FALLBACK_FAMILIES is installed (fonts-wqy-microhei)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return canvas.fallback_families()[0]


def _title_pixels(title: str) -> np.ndarray:
    draws = {"pooled": np.random.default_rng(1).beta(2, 8, 400)}
    curve = plots.exceedance_curve(draws, np.linspace(0, 1, 41))
    fig = plots.exceedance_plot(curve, (0.2,), title=title, outcome="ORR")
    png = canvas.draw(fig, ("png",))["png"]
    import io

    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png))


def test_chinese_titles_are_drawn_as_their_characters(cjk_font, monkeypatch):
    """Two different titles of two Chinese characters each: drawn as glyphs they differ; drawn
    as missing-glyph boxes (as before, and as now without a CJK font) they are the same."""
    first, second = "\u6297\u8840 ORR", "\u7ba1\u751f ORR"  # 抗血 / 管生
    assert not np.array_equal(_title_pixels(first), _title_pixels(second)), cjk_font
    monkeypatch.setattr(canvas, "FALLBACK_FAMILIES", ())
    assert np.array_equal(_title_pixels(first), _title_pixels(second))


def test_the_fallback_adds_to_the_sessions_families_and_changes_nothing_global(cjk_font):
    import matplotlib

    before = dict(matplotlib.rcParams)
    rc = canvas.figure_rc()
    assert rc["font.family"] == [*matplotlib.rcParams["font.family"], *canvas.fallback_families()]
    assert rc["text.parse_math"] is False and cjk_font in rc["font.family"]
    with matplotlib.rc_context({"font.family": ["serif"]}):
        assert canvas.figure_rc()["font.family"][0] == "serif"  # a user's choice comes first
    _title_pixels("\u6297\u8840")
    assert dict(matplotlib.rcParams) == before
