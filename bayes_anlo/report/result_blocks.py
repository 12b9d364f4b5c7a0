"""Report blocks made from one analysis result's tables (shared by every report section)."""

from __future__ import annotations

from bayes_anlo.report.render import Block, Table, anchor
from bayes_anlo.report.result import AnalysisResult


def result_table(
    result: AnalysisResult,
    name: str,
    caption: str,
    columns: list[str] | None = None,
    percent: tuple[str, ...] = (),
) -> list[Block]:
    """A table of the result, with the named columns (that exist) shown as percentages."""
    if name not in result.tables:
        return []
    frame = result.tables[name]
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return [
        Table(
            frame,
            caption,
            table_id=anchor(f"{result.id}-{name}"),
            percent_columns=tuple(c for c in percent if c in frame),
        )
    ]
