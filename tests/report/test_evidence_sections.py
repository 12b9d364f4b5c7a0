"""Report blocks of the evidence steps: present tables become sections, caveats are printed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from bayes_anlo.pipeline import evidence_steps
from bayes_anlo.report.evidence_sections import evidence_blocks, figure_formats
from bayes_anlo.report.model_comparison import LOO_COLUMNS
from bayes_anlo.report.render import Figure, Heading, Paragraph, Table
from tests.models._data import make_binary


def test_blocks_follow_the_tables_present_and_print_the_caveats(tmp_path):
    data = make_binary([3, 9, 4, 12, 7, 15], [30, 25, 22, 40, 33, 41])
    result = SimpleNamespace(id="orr", tables={}, figures={}, notes=[])
    assert evidence_blocks(result, Path(tmp_path), "orr") == []
    evidence_steps.add_small_study_diagnostics(result, data, title="ORR")
    loo = pd.DataFrame(
        [
            ["beta-binomial", 0, -10.0, 1.0, 1.2, 0.0, 0.0, 0.7, 0.3, 0, 0.7, 6],
            ["complete-pooling", 1, -12.5, 1.5, 0.9, -2.5, 1.1, 0.3, 0.9, 1, 0.7, 6],
        ],
        columns=list(LOO_COLUMNS),
    )
    result.tables["model_comparison"] = loo
    blocks = evidence_blocks(result, Path(tmp_path), "orr")
    headings = [b.text for b in blocks if isinstance(b, Heading)]
    assert headings == ["Small-study effects and influence", "Model comparison (LOO)"]
    figures = [b.relative for b in blocks if isinstance(b, Figure)]
    assert figures == ["figures/orr__funnel.png", "figures/orr__baujat.png"]
    paragraphs = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "fewer than 10 studies" in paragraphs
    assert (
        "Only 6 studies" in paragraphs and "1 of 6 studies have Pareto k above 0.70" in paragraphs
    )
    loo_table = [b for b in blocks if isinstance(b, Table)][-1].frame
    assert list(loo_table["elpd difference (SE)"]) == ["0 (best)", "-2.50 (1.10)"]
    assert figure_formats("publication_forest") == ("png",)  # SVG and PDF only when asked
    every = ("png", "svg", "pdf")
    assert figure_formats("publication_forest", every) == every
    assert figure_formats("survival_forest", ("pdf",)) == ("png", "pdf")
    assert figure_formats("funnel", every) == ("png",) and figure_formats("ppc", every) == ("png",)
    assert np.isfinite(result.tables["small_study"]["p_value"]).all()


def test_publication_caption_names_only_the_formats_written(tmp_path):
    result = SimpleNamespace(
        id="orr", tables={}, figures={"publication_forest": object()}, notes=[]
    )

    def caption() -> str:
        (figure,) = [b for b in evidence_blocks(result, tmp_path, "orr") if isinstance(b, Figure)]
        return figure.caption

    assert "Also as" not in caption()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "orr__publication_forest.pdf").write_bytes(b"%PDF")
    assert "Also as .pdf (figures/orr__publication_forest)" in caption()
    (tmp_path / "figures" / "orr__publication_forest.svg").write_text("<svg/>")
    assert "Also as .svg and .pdf" in caption()
