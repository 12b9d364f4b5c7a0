"""Every figure function draws its labels literally and leaves no figure open.

A study label such as ``Li 2020 ($$)`` used to crash the forest plot (matplotlib parsed it as
mathtext); ``$x$``, ``\\alpha``, ``a_b`` and ``c^2`` were silently typeset. Each figure function
below is given labels made of those characters, saved to PNG, and its text artists are compared
with the labels as typed. None of the figures may be tracked by pyplot (a run builds dozens before
saving them), and matplotlib's global settings must be left as they were.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from bayes_anlo.report import plots
from bayes_anlo.report.ppc_plots import binary_ppc_plot, survival_ppc_plot
from bayes_anlo.report.survival_plots import survival_plot
from bayes_anlo.report.tables import study_table

LABELS = ["Li 2020 ($$)", "$x$ \\alpha", "a_b^c", "cost $5 \\ $10"]
GROUPS = ["drug $A$", "drug $A$", "B_1^2 \\x", "B_1^2 \\x"]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def studies() -> pd.DataFrame:
    table = study_table(
        LABELS, np.array([3, 5, 1, 8]), np.array([30, 25, 12, 40]), None, groups=GROUPS
    )
    table["shrunken"] = table["observed"] * 0.8 + 0.03
    table["shrunken_low"], table["shrunken_high"] = (
        table["shrunken"] - 0.05,
        table["shrunken"] + 0.05,
    )
    return table


def comparison() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "paradigm": ["Bayesian", "frequentist"],
            "method": ["beta_binomial $1$", "PLO_REML ^2"],
            "estimate": [0.15, 0.16],
            "ci_low": [0.1, 0.11],
            "ci_high": [0.2, 0.22],
            "pi_low": [0.05, np.nan],
            "pi_high": [0.3, np.nan],
            "tau2": np.nan,
            "i2": np.nan,
        }
    )


def subgroup_pooled() -> pd.DataFrame:
    rows = []
    for g in dict.fromkeys(GROUPS):
        rows.append(
            {
                "subgroup": g,
                "paradigm": "Bayesian",
                "method": "mean $m$",
                "estimate": 0.15,
                "ci_low": 0.1,
                "ci_high": 0.2,
                "pi_low": 0.05,
                "pi_high": 0.3,
                "k": np.nan,
            }
        )
    return pd.DataFrame(rows)


def ppc_tables():
    ppc = pd.DataFrame(
        {
            "statistic": ["variance", "min_rate"],
            "unit": ["", ""],
            "observed": [0.01, 0.08],
            "p_value": [0.4, 0.6],
        }
    )
    units = pd.DataFrame(
        {
            "label": LABELS,
            "n": [30, 25, 12, 40],
            "observed": [3, 5, 1, 8],
            "replicated_median": [4, 4, 2, 7],
            "replicated_low": [1, 1, 0, 3],
            "replicated_high": [8, 9, 5, 12],
            "p_two_sided": [0.8, 0.5, 0.05, 0.9],
        }
    )
    rng = np.random.default_rng(0)
    return ppc, units, {"variance": rng.gamma(2, 0.005, 200), "min_rate": rng.beta(2, 20, 200)}


def survival_check() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "term": ["median", "landmark"],
            "row": LABELS[:2],
            "time": [np.nan, 12.0],
            "predicted_low": [4.0, 0.3],
            "predicted_median": [6.0, 0.45],
            "predicted_high": [9.0, 0.6],
            "observed": [5.5, 0.5],
            "p_two_sided": [0.7, 0.04],
        }
    )


def survival_band() -> pd.DataFrame:
    time = np.linspace(0, 12, 13)
    s = np.exp(-0.08 * time)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "group": g,
                    "time": time,
                    "typical_median": s,
                    "typical_low": s - 0.05,
                    "typical_high": s + 0.05,
                    "new_study_median": s,
                    "new_study_low": s - 0.1,
                    "new_study_high": s + 0.1,
                }
            )
            for g in LABELS[:2]
        ],
        ignore_index=True,
    )


def survival_reported() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["median", "landmark"],
            "time": [8.0, 12.0],
            "time_low": [6.0, np.nan],
            "time_high": [10.0, np.nan],
            "survival": [0.5, 0.4],
            "survival_low": [np.nan, 0.3],
            "survival_high": [np.nan, 0.5],
            "label": LABELS[:2],
            "group": LABELS[:2],
        }
    )


FIGURES = {
    "forest": lambda: plots.forest_plot(
        studies(), comparison(), title="Title $T$ a_b", outcome="ORR ^"
    ),
    "forest_grouped": lambda: plots.forest_plot(
        studies(),
        comparison(),
        title="T $",
        outcome="ORR",
        subgroup_pooled=subgroup_pooled(),
        subgroup_test="Q $= 1$ p_0",
    ),
    "shrinkage": lambda: plots.shrinkage_plot(studies(), 0.15, title="S $s$", outcome="ORR"),
    "shrinkage_grouped": lambda: plots.shrinkage_plot(
        studies(),
        0.15,
        title="S",
        outcome="ORR",
        subgroup_means=pd.DataFrame(
            {"subgroup": list(dict.fromkeys(GROUPS)), "median": [0.12, 0.2]}
        ),
    ),
    "prior_posterior": lambda: plots.prior_posterior_plot(
        pd.DataFrame(
            {
                "parameter": ["tau"] * 4,
                "axis_label": ["tau $t$ a_b"] * 4,
                "series": ["prior", "prior", "posterior", "posterior"],
                "x": [0.1, 0.5, 0.1, 0.5],
                "density": [1.0, 0.5, 2.0, 0.2],
                "percent": [False] * 4,
            }
        ),
        title="P $p$",
    ),
    "exceedance": lambda: plots.exceedance_plot(
        plots.exceedance_curve({"rate $r$": np.linspace(0, 1, 50)}, np.linspace(0, 1, 11)),
        (0.2,),
        title="E $",
        outcome="ORR_1",
    ),
    "ppc": lambda: plots.ppc_plot(ppc_tables()[0], ppc_tables()[2], title="ppc $"),
    "binary_ppc": lambda: binary_ppc_plot(*ppc_tables(), title="B $b$", outcome="ORR ^"),
    "survival_ppc": lambda: survival_ppc_plot(survival_check(), title="S $s$", endpoint="OS_1"),
    "survival_curve": lambda: survival_plot(
        survival_band(), survival_reported(), title="C $c$", endpoint="OS", informed_until=10.0
    ),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_labels_with_dollars_backslashes_and_scripts_are_drawn_as_typed(name, tmp_path):
    before = plt.get_fignums()
    fig = FIGURES[name]()
    assert plt.get_fignums() == before, "figure functions must not register figures with pyplot"
    path = tmp_path / f"{name}.png"
    plots.save(fig, path)  # draws every text: mathtext parsing would raise on "$$" or an odd "$"
    assert path.stat().st_size > 1000
    drawn = texts(fig)
    expected = LABELS if "survival" not in name else LABELS[:2]
    if name in (
        "forest",
        "forest_grouped",
        "shrinkage",
        "shrinkage_grouped",
        "binary_ppc",
        "survival_ppc",
        "survival_curve",
    ):
        for label in expected:
            assert any(label in t for t in drawn), (label, drawn)
    assert all(not t.get_parse_math() for t in fig.findobj(matplotlib.text.Text))
    assert matplotlib.rcParams["text.parse_math"] is True  # global state untouched


def test_grouped_forest_names_each_subgroup_once_and_flags_single_studies():
    groups = ["A", "A", "B $", "C"]
    table = study_table(
        LABELS, np.array([3, 5, 1, 8]), np.array([30, 25, 12, 40]), None, groups=groups
    )
    pooled = pd.DataFrame(
        {
            "subgroup": ["A", "B $", "C"],
            "paradigm": "frequentist",
            "method": "PLO-REML",
            "estimate": 0.1,
            "ci_low": 0.05,
            "ci_high": 0.2,
            "pi_low": np.nan,
            "pi_high": np.nan,
        }
    )
    rows = plots.forest_rows(table, comparison(), pooled)
    headers = rows.loc[rows["kind"] == "header", "label"].tolist()
    assert headers == ["A", "B $ (single study)", "C (single study)"]
    # each subgroup block: header, its studies, its pooled row; then the overall rows
    assert rows["kind"].tolist() == [
        "header",
        "study",
        "study",
        "pooled",
        "header",
        "study",
        "pooled",
        "header",
        "study",
        "pooled",
        "gap",
        "overall",
        "overall",
    ]
    fig = plots.forest_plot(
        table,
        comparison(),
        title="t",
        outcome="ORR",
        subgroup_pooled=pooled,
        subgroup_test="Test for subgroup differences: Q = 1.00, df = 2, p = 0.607",
    )
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == rows["label"].tolist()
    assert "Test for subgroup differences" in fig.axes[0].get_xlabel()
    bold = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == headers
