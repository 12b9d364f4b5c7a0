"""Figures of a design (they take the tables of :mod:`bayes_anlo.design.commands`, never
compute)."""

from __future__ import annotations

import matplotlib.figure
import pandas as pd

from bayes_anlo.report.canvas import literal_text, new_figure


@literal_text
def oc_figure(tables: dict[str, pd.DataFrame], *, title: str) -> matplotlib.figure.Figure:
    """Probability of success against the true rate (one sample), or against the true rate of
    both arms and against the difference (two samples: type I error and power panels)."""
    if "oc" in tables:
        fig = new_figure(figsize=(6.0, 4.0), layout="constrained")
        ax = fig.add_subplot()
        oc = tables["oc"]
        ax.plot(oc["rate"], oc["probability_of_success"], color="tab:blue")
        ax.set_xlabel("true response rate")
        ax.set_ylabel("probability of success")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=9)
        return fig
    fig = new_figure(figsize=(9.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    t1 = tables["type1"]
    left.plot(t1["rate"], t1["probability_of_success"], color="tab:red")
    left.set_xlabel("true rate in both arms")
    left.set_ylabel("probability of success (type I error)")
    left.grid(alpha=0.3)
    pw = tables["power"]
    right.plot(pw["difference"], pw["probability_of_success"], color="tab:blue")
    right.set_xlabel(f"true difference (control rate {pw['control_rate'].iloc[0]:.3f})")
    right.set_ylabel("probability of success (power)")
    right.set_ylim(-0.02, 1.02)
    right.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    return fig
