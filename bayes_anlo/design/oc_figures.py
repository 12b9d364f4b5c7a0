"""Figures of the simulated operating characteristics (they take the tables of
:mod:`bayes_anlo.design.oc_study` and :mod:`bayes_anlo.design.basket_simulation`, never compute)."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pandas as pd

from bayes_anlo.report.canvas import literal_text, new_figure


@literal_text
def simulated_oc_figure(table: pd.DataFrame, *, title: str) -> matplotlib.figure.Figure:
    """Simulated probability of success (points, +-2 MC SE) and the exact value (line) against
    the true rate (one sample) or the treatment rate, one line per control rate (two samples)."""
    fig = new_figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    if "rate" in table:
        groups = [("", table, "rate")]
    else:
        groups = [
            (f"control {rate:g}", part, "treatment_rate")
            for rate, part in table.groupby("control_rate", sort=True)
        ]
    for k, (label, part, x) in enumerate(groups):
        color = f"C{k % 10}"
        ax.plot(part[x], part["exact"], color=color, label=f"exact {label}".strip())
        ax.errorbar(
            part[x],
            part["probability_of_success"],
            yerr=2 * part["mcse"],
            fmt="o",
            ms=3,
            color=color,
            label=f"simulated {label}".strip(),
        )
    ax.set_xlabel("true response rate" if "rate" in table else "true treatment rate")
    ax.set_ylabel("probability of success")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


@literal_text
def basket_oc_figure(subtypes: pd.DataFrame, *, title: str) -> matplotlib.figure.Figure:
    """Go probability per subtype (bars, +-2 MC SE), one group of bars per scenario."""
    scenarios = list(dict.fromkeys(subtypes["scenario"]))
    count = int(subtypes["subtype"].max())
    fig = new_figure(figsize=(max(6.0, 1.2 * len(scenarios) * max(1, count / 4)), 4.0))
    ax = fig.add_subplot()
    width = 0.8 / count
    x = np.arange(len(scenarios))
    for j in range(1, count + 1):
        part = subtypes[subtypes["subtype"] == j].set_index("scenario").loc[scenarios]
        ax.bar(
            x + (j - 1 - (count - 1) / 2) * width,
            part["go_probability"],
            width,
            yerr=2 * part["mcse"],
            color=f"C{(j - 1) % 10}",
            label=str(part["subtype_name"].iloc[0]) if "subtype_name" in part else f"subtype {j}",
        )
    ax.set_xticks(x, [str(s) for s in scenarios])
    ax.set_xlabel("scenario")
    ax.set_ylabel("go probability")
    ax.set_ylim(0, 1.18)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, ncols=min(count, 6), loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.set_layout_engine("constrained")
    return fig
