"""What one analysis of a spec produces: a fit, its tables and figures, and what to say about
them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # matplotlib is imported where figures are drawn, not for this annotation
    import matplotlib.pyplot as plt


@dataclass
class AnalysisResult:
    """Output of one ``[[analyses]]`` entry.

    ``tables`` and ``figures`` are keyed by short names; the run directory stores them as
    ``tables/<id>__<name>.csv`` and ``figures/<id>__<name>.png``. ``sections`` are Markdown
    paragraphs for the report, keyed by report section.
    """

    id: str
    title: str
    model: str
    tree: xr.DataTree
    converged: bool
    convergence_reasons: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, plt.Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    headline: str = ""
    priors_text: str = ""
    data_sources: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    #: the grouping column of a subgroup analysis (``by`` of the spec entry), "" without one
    by: str = ""
