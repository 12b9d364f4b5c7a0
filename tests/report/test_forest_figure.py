"""Publishable forest plots: tables laid out from results, boxes by weight, literal text, formats.

No model is fitted here: Bayesian rows are tables shaped like ``bayesian_comparison_rows``.
"""

from __future__ import annotations

import matplotlib.lines
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_anlo import frequentist as fq
from bayes_anlo.datasets import load
from bayes_anlo.report import forest_figure, forest_tables

LABELS = ["Li 2020 ($$)", "<b>bold</b> & co", "a_b^c", "Wu 2021", "Xu 2022", "Zhao 2023"]
EVENTS = np.array([3, 9, 4, 12, 7, 15])
N = np.array([30, 25, 22, 40, 33, 41])
GROUPS = ["first line", "first line", "first line", "second line", "second line", "second line"]


def bayes_rows(label="beta-binomial", estimate=0.3) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "paradigm": "Bayesian",
                "method": label,
                "estimate": estimate,
                "ci_low": estimate - 0.08,
                "ci_high": estimate + 0.09,
                "pi_low": estimate - 0.2,
                "pi_high": estimate + 0.25,
                "tau2": 0.1,
                "i2": np.nan,
            }
        ]
    )


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


@pytest.fixture(scope="module")
def reml():
    return fq.pool_proportions(EVENTS, N, transform="logit", method="REML")


def test_weights_are_inverse_variance_of_the_first_frequentist_result(reml):
    table = forest_tables.binary_forest_table(
        LABELS, EVENTS, N, frequentist=[reml], bayesian=[bayes_rows()]
    )
    studies = table[table["kind"] == "study"]
    # metafor's escalc(measure="PLO") variances and rma weights, recomputed by hand
    v = 1 / EVENTS + 1 / (N - EVENTS)
    w = 1 / (v + reml.tau2)
    np.testing.assert_allclose(studies["weight"], 100 * w / w.sum(), rtol=1e-10)
    np.testing.assert_allclose(studies["estimate"], EVENTS / N)
    # Clopper-Pearson from the beta quantiles
    np.testing.assert_allclose(studies["ci_low"], stats.beta.ppf(0.025, EVENTS, N - EVENTS + 1))
    assert list(table["kind"]) == ["study"] * 6 + ["gap", "pooled", "note", "pooled"]
    assert list(table.loc[table["kind"] == "pooled", "paradigm"]) == ["frequentist", "Bayesian"]


def test_box_area_is_proportional_to_weight(reml):
    table = forest_tables.binary_forest_table(LABELS, EVENTS, N, frequentist=[reml])
    fig = forest_figure.forest_plot(table, title="t")
    boxes = [
        line
        for line in fig.axes[0].get_lines()
        if isinstance(line, matplotlib.lines.Line2D) and line.get_marker() == "s"
    ]
    assert len(boxes) == len(LABELS)
    area = np.array([b.get_markersize() ** 2 for b in boxes])
    weights = table.loc[table["kind"] == "study", "weight"].to_numpy()
    np.testing.assert_allclose(area / area.sum(), weights / weights.sum(), rtol=1e-10)
    assert max(b.get_markersize() for b in boxes) == pytest.approx(forest_figure.MAX_BOX_POINTS)


def test_columns_print_estimates_weights_and_extra_labels(reml):
    extra = pd.DataFrame({"drug": ["anlotinib"] * 6, "line": GROUPS})
    table = forest_tables.binary_forest_table(
        LABELS, EVENTS, N, frequentist=[reml], bayesian=[bayes_rows()], extra=extra
    )
    fig = forest_figure.forest_plot(
        table,
        columns=[("drug", "Drug"), ("line", "Line"), ("n", "n")],
        weight_header=forest_tables.weight_header([reml]),
    )
    drawn = texts(fig)
    assert "10.0 [2.1, 26.5]" in drawn  # 3/30, Clopper-Pearson 2.11% to 26.53%
    assert f"{reml.weights[0]:.1f}%" in drawn
    assert "Weight (PLO-REML)" in drawn and "Drug" in drawn and "second line" in drawn
    assert "30" in drawn and "anlotinib" in drawn
    het = forest_tables.heterogeneity_text(reml)
    assert f"I\u00b2 = {reml.i2:.1f}%" in het and f"df = {reml.q_df}" in het
    assert any(het in t for t in drawn)


def test_estimate_text_formats():
    row = {"estimate": 0.4213, "ci_low": 0.30, "ci_high": 0.55}
    assert forest_figure.estimate_text(row) == "42.1 [30.0, 55.0]"
    months = forest_figure.Panel(percent=False)
    assert forest_figure.estimate_text({"estimate": 5.6, "ci_low": np.nan}, months) == "5.6"
    assert forest_figure.estimate_text({"estimate": np.nan}, months) == "not reported"


def test_labels_are_literal_and_escaped_in_svg_and_every_format_is_written(reml, tmp_path):
    table = forest_tables.binary_forest_table(
        LABELS, EVENTS, N, frequentist=[reml], bayesian=[bayes_rows("$x$ <i>")]
    )
    before = plt.get_fignums()
    fig = forest_figure.forest_plot(table, title="ORR $\\alpha$ <script>")
    assert plt.get_fignums() == before  # not tracked by pyplot
    drawn = texts(fig)
    for label in LABELS:
        assert label in drawn
    assert "$x$ <i> (Bayesian)" in drawn
    assert all(not t.get_parse_math() for t in fig.findobj(matplotlib.text.Text))
    paths = forest_figure.save_figure(fig, tmp_path / "forest")
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    svg = (tmp_path / "forest.svg").read_text()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in svg and "<b>" not in svg
    assert "<script>" not in svg
    assert (tmp_path / "forest.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "forest.png").read_bytes().startswith(b"\x89PNG")


def test_subgroup_blocks_have_their_own_pooled_rows_and_the_difference_test():
    sub = fq.subgroup_analysis(EVENTS, GROUPS, n=N, transform="logit", method="REML")
    bayes_sub = pd.concat(
        [bayes_rows("nested: subgroup mean", 0.2), bayes_rows("nested: subgroup mean", 0.35)]
    )
    bayes_sub.insert(0, "subgroup", ["first line", "second line"])
    table = forest_tables.subgroup_forest_table(
        LABELS,
        EVENTS,
        N,
        GROUPS,
        sub,
        overall_bayesian=[bayes_rows("nested")],
        subgroup_bayesian=bayes_sub,
    )
    headers = table.loc[table["kind"] == "header", "label"].tolist()
    assert headers == ["first line", "second line", "Overall"]
    for level in ("first line", "second line"):
        start = table.index[table["label"] == level][0]
        block = table.iloc[start + 1 : start + 1 + 6]
        studies = block[block["kind"] == "study"]
        assert len(studies) == 3
        # weights within the subgroup: inverse variance of the subgroup's own REML fit
        mask = np.asarray(GROUPS) == level
        e, n = EVENTS[mask], N[mask]
        w = 1 / (1 / e + 1 / (n - e) + sub.per_subgroup[level].tau2)
        np.testing.assert_allclose(studies["weight"], 100 * w / w.sum(), rtol=1e-10)
        pooled = block[block["kind"] == "pooled"]
        assert list(pooled["paradigm"]) == ["frequentist", "Bayesian"]
    text = forest_tables.subgroup_difference_text(sub)
    p = stats.chi2.sf(sub.q_between, sub.q_between_df)
    assert f"df = {sub.q_between_df}" in text and (f"p = {p:.3f}" in text or "p < 0.001" in text)
    fig = forest_figure.forest_plot(table, notes=[text])
    assert any("Test for subgroup differences" in t for t in texts(fig))


def test_survival_forest_reads_medians_and_landmarks_from_the_bundled_summaries():
    summaries = load("sarcoma_literature_survival")
    overall = summaries[summaries["subgroup"].str.startswith("overall")]
    table = forest_tables.survival_forest_table(
        overall, endpoint="PFS", landmark_time=2.7598, tolerance=0.01
    )
    li = table[table["label"].str.startswith("S02_LiT2024: overall")].iloc[0]
    # Li 2024: median PFS 6.83 (4.17 to 8.71) months
    assert (li["estimate"], li["ci_low"], li["ci_high"]) == (6.83, 4.17, 8.71)
    chi = table.set_index("label").loc["S01_Chi2018"]  # Chi 2018: PFR at 12 weeks 68%
    assert chi["landmark_estimate"] == pytest.approx(0.68) and chi["n"] == 166
    fig = forest_figure.forest_plot(
        table,
        columns=[("drug", "Drug"), ("n", "n")],
        panels=[
            forest_figure.Panel(xlabel="median PFS (months)", percent=False),
            forest_figure.Panel(prefix="landmark_", xlabel="PFS at 12 weeks"),
        ],
    )
    assert len(fig.axes) == 2
    assert "6.8 [4.2, 8.7]" in texts(fig) and "68.0" in texts(fig)


def test_a_table_without_the_needed_columns_is_refused():
    with pytest.raises(ValueError, match="lacks columns: estimate"):
        forest_figure.forest_plot(pd.DataFrame({"kind": ["study"], "label": ["a"]}))
    bad = pd.DataFrame({"kind": ["box"], "label": ["a"], "estimate": [0.1]})
    bad["ci_low"], bad["ci_high"] = 0.0, 0.2
    with pytest.raises(ValueError, match="unknown row kinds"):
        forest_figure.forest_plot(bad)
