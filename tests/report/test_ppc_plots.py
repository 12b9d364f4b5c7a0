"""PPC figures drawn from real fits: one row per unit/reported summary with the expected labels,
one histogram per global statistic with the observed value where the table puts it, highlighted
rows exactly those with a two-sided p-value below 0.1, and clear errors for empty input."""

from __future__ import annotations

# tests/conftest.py selects the Agg backend.
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from bayes_anlo.checks.ppc import ppc_replicated, ppc_statistics
from bayes_anlo.checks.survival_ppc import summary_check
from bayes_anlo.data.survival import load_summaries
from bayes_anlo.models import BetaBinomial, CompletePooling
from bayes_anlo.models.piecewise_exponential import PiecewiseExponential
from bayes_anlo.models.sampling import SamplerSettings
from bayes_anlo.pipeline.binary import ppc_interval_table
from bayes_anlo.report.ppc_plots import HIGHLIGHT, binary_ppc_plot, survival_ppc_plot
from tests.models._data import make_binary, simulate_beta_binomial

GLOBAL = ["variance", "chi2_homogeneity", "min_rate", "max_rate", "chi2_discrepancy"]
TERMS = ["median", "landmark", "events_after", "km_joint"]


# ---------------------------------------------------------------- helpers


def panel(fig, label):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, (label, [ax.get_label() for ax in fig.axes])
    return found[0]


def statistic_panels(fig) -> dict[str, plt.Axes]:
    return {
        ax.get_label().removeprefix("statistic:"): ax
        for ax in fig.axes
        if ax.get_label().startswith("statistic:")
    }


def tick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def highlighted(ax) -> list[str]:
    return [
        t.get_text()
        for t in ax.get_yticklabels()
        if matplotlib.colors.same_color(t.get_color(), HIGHLIGHT)
    ]


def observed_markers(ax) -> np.ndarray:
    """x of the observed squares, top row first."""
    squares = [line for line in ax.lines if line.get_marker() == "s"]
    squares.sort(key=lambda line: -line.get_ydata()[0])
    return np.array([line.get_xdata()[0] for line in squares])


def legend_texts(fig) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    for sub in fig.subfigs:
        legends += list(sub.legends)
    return [t.get_text() for leg in legends if leg is not None for t in leg.get_texts()]


def assert_readable(fig):
    """Every visible text at least 7.5 pt."""
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 7.5, (text.get_text(), text.get_fontsize())


def assert_labelled(ax):
    title = "".join(ax.get_title(loc) for loc in ("left", "center", "right"))
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip() and title.strip(), ax.get_label()


# ---------------------------------------------------------------- binary


@pytest.fixture(scope="module")
def binary_fit():
    y, n = simulate_beta_binomial(12, 0.2, 20.0, seed=7)
    data = make_binary(y, n)
    return BetaBinomial(method="exact").fit(data, random_seed=5), data


@pytest.fixture(scope="module")
def binary_tables(binary_fit):
    tree, data = binary_fit
    return ppc_statistics(tree), ppc_interval_table(tree, data.labels, data.n), ppc_replicated(tree)


def test_binary_figure_has_one_row_per_unit_and_one_histogram_per_statistic(binary_tables):
    ppc, units, replicated = binary_tables
    fig = binary_ppc_plot(ppc, units, replicated, title="ORR", outcome="ORR")
    try:
        ax = panel(fig, "units")
        assert_labelled(ax)
        assert "ORR" in ax.get_xlabel()
        assert tick_labels(ax) == [
            f"{r.label} ({int(r.observed)}/{int(r.n)})" for r in units.itertuples()
        ]
        np.testing.assert_allclose(observed_markers(ax), units["observed"] / units["n"])
        assert ax.xaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"

        hists = statistic_panels(fig)
        assert list(hists) == GLOBAL
        assert len(hists) == (ppc["unit"] == "").sum()
        for name, hax in hists.items():
            assert_labelled(hax)
            assert hax.get_ylabel() == "replicated data sets"
            row = ppc[(ppc["statistic"] == name) & (ppc["unit"] == "")].iloc[0]
            assert f"p = {row['p_value']:.2f}" in hax.get_title()
            vlines = [line for line in hax.lines if line.get_label().startswith("observed")]
            assert len(vlines) == 1
            assert np.allclose(vlines[0].get_xdata(), row["observed"])
            (bars,) = [c for c in hax.collections if c.get_label() == "replicated"]
            heights = np.array([path.vertices[:, 1].max() for path in bars.get_paths()])
            values = np.asarray(replicated[name], dtype=float).ravel()
            # every replicate is counted once, but those beyond the 99.5% quantile (range cut)
            assert 0.99 * values.size <= heights.sum() <= values.size
            assert hax.get_ylim()[0] == 0  # the bars stand on the axis
        assert [line.get_label() for line in hists["chi2_discrepancy"].lines] == [
            "observed (posterior mean)"
        ]
        assert "between-study variance of rates" in hists["variance"].get_title()
        for name in ("min_rate", "max_rate"):
            assert hists[name].xaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"
        assert fig.get_suptitle() == "ORR"
        assert_readable(fig)
    finally:
        plt.close(fig)


def test_binary_highlights_exactly_the_units_outside_the_interval(binary_fit):
    tree, data = binary_fit
    forced = tree.copy()
    events = forced["observed_data"]["events"].values.copy()
    events[3] = data.n[3]  # every patient responded: far above what the model replicates
    forced["observed_data"]["events"] = forced["observed_data"]["events"].copy(data=events)
    units = ppc_interval_table(forced, data.labels, data.n)
    extreme = units[units["p_two_sided"] < 0.1]
    assert data.labels[3] in set(extreme["label"])
    fig = binary_ppc_plot(
        ppc_statistics(forced), units, ppc_replicated(forced), title="forced", outcome="ORR"
    )
    try:
        ax = panel(fig, "units")
        assert highlighted(ax) == [
            f"{r.label} ({int(r.observed)}/{int(r.n)})" for r in extreme.itertuples()
        ]
        assert any("outside 90% predictive interval" in t for t in legend_texts(fig))
    finally:
        plt.close(fig)


def test_binary_without_extreme_units_has_no_highlight(binary_tables):
    ppc, units, replicated = binary_tables
    calm = units.assign(p_two_sided=np.maximum(units["p_two_sided"], 0.5))
    fig = binary_ppc_plot(ppc, calm, replicated, title="calm", outcome="ORR")
    try:
        assert highlighted(panel(fig, "units")) == []
        assert not any("outside" in t for t in legend_texts(fig))
    finally:
        plt.close(fig)


def test_binary_single_study_has_only_the_statistics_it_has():
    data = make_binary([7], [30])
    tree = CompletePooling(method="exact").fit(data, random_seed=3)
    ppc, replicated = ppc_statistics(tree), ppc_replicated(tree)
    fig = binary_ppc_plot(
        ppc, ppc_interval_table(tree, data.labels, data.n), replicated, title="one", outcome="ORR"
    )
    try:
        assert tick_labels(panel(fig, "units")) == ["S01 (7/30)"]
        assert list(statistic_panels(fig)) == [
            "min_rate",
            "chi2_discrepancy",
        ]  # lowest = highest: one panel
        for hax in statistic_panels(fig).values():
            assert_labelled(hax)
        assert statistic_panels(fig)["min_rate"].get_title().startswith("the study's rate")
    finally:
        plt.close(fig)


def test_binary_draws_any_subset_of_statistics_and_a_table_read_back(binary_tables):
    ppc, units, replicated = binary_tables
    subset = {k: replicated[k] for k in ("max_rate", "variance")}
    fig = binary_ppc_plot(ppc, units, subset, title="subset", outcome="ORR")
    try:
        assert list(statistic_panels(fig)) == ["variance", "max_rate"]
    finally:
        plt.close(fig)
    read_back = ppc.assign(unit=ppc["unit"].replace("", np.nan))  # as pandas reads the CSV
    fig = binary_ppc_plot(read_back, units, replicated, title="csv", outcome="ORR")
    try:
        assert list(statistic_panels(fig)) == GLOBAL
    finally:
        plt.close(fig)
    fig = binary_ppc_plot(ppc, units, {}, title="none", outcome="ORR")
    try:
        assert statistic_panels(fig) == {}
        assert_labelled(panel(fig, "units"))
    finally:
        plt.close(fig)


def test_binary_empty_unit_table_raises(binary_tables):
    ppc, units, replicated = binary_tables
    with pytest.raises(ValueError, match="empty"):
        binary_ppc_plot(ppc, units.iloc[:0], replicated, title="x", outcome="ORR")


# ---------------------------------------------------------------- survival

HEADER = "study,arm,endpoint,quantity,value,ci_low,ci_high,time,unit,source\n"
SUMMARIES = HEADER + (
    "A,,PFS,median,6.9,5.2,9.1,,months,\n"
    "A,,PFS,landmark,0.55,0.42,0.66,6,,\n"
    "A,,PFS,landmark,0.30,0.19,0.42,12,,\n"
    "A,,PFS,events,42,,,,,\nA,,,patients,60,,,,,\nA,,,median_followup,20,14,26,,months,\n"
    "B,,PFS,median,4.5,3.9,5.3,,months,\n"
    "B,,PFS,landmark,0.40,0.27,0.53,6,,\nB,,,patients,50,,,,,\n"
)


@pytest.fixture(scope="module")
def survival_check(tmp_path_factory):
    """summary_check of a small hierarchical piecewise-exponential fit: two studies, all four
    terms (compiling the model takes most of the ~20 s)."""
    path = tmp_path_factory.mktemp("ppc") / "summaries.csv"
    path.write_text(SUMMARIES)
    model = PiecewiseExponential(
        cuts=(0.0, 6.0, 12.0), sampler=SamplerSettings(draws=300, tune=400, chains=2)
    )
    check = summary_check(model.fit(load_summaries(path), random_seed=1))
    assert list(dict.fromkeys(check["term"])) == TERMS
    return check


def test_survival_figure_has_one_panel_per_term(survival_check):
    fig = survival_ppc_plot(survival_check, title="PFS check", endpoint="PFS")
    try:
        assert [ax.get_label() for ax in fig.axes] == TERMS
        for term in TERMS:
            ax = panel(fig, term)
            part = survival_check[survival_check["term"] == term]
            assert_labelled(ax)
            assert len(ax.get_yticks()) == len(part)
            np.testing.assert_allclose(
                observed_markers(ax), part["observed"].to_numpy(dtype=float)
            )  # counts are ints (object column)
            extreme = (part["p_two_sided"] < 0.1).to_numpy()
            assert highlighted(ax) == [
                lab for lab, hot in zip(tick_labels(ax), extreme, strict=True) if hot
            ]
        assert panel(fig, "median").get_xlabel() == "median PFS (months)"
        assert panel(fig, "landmark").get_xlabel() == "PFS landmark survival"
        assert "count" in panel(fig, "events_after").get_xlabel()
        assert "Mahalanobis" in panel(fig, "km_joint").get_xlabel()
        landmarks = tick_labels(panel(fig, "landmark"))
        assert [lab.rsplit(" at ", 1)[1] for lab in landmarks] == ["6 mo", "12 mo", "6 mo"]
        assert all("@" not in lab for lab in landmarks)
        assert fig.get_suptitle() == "PFS check"
        assert_readable(fig)
    finally:
        plt.close(fig)


def test_survival_highlights_rows_with_small_two_sided_p(survival_check):
    check = survival_check.copy()
    check["p_two_sided"] = 0.8
    check.loc[check.index[(check["term"] == "landmark")][1], "p_two_sided"] = 0.04
    check.loc[check.index[(check["term"] == "km_joint")][0], "p_two_sided"] = 0.099
    fig = survival_ppc_plot(check, title="PFS", endpoint="PFS")
    try:
        assert highlighted(panel(fig, "median")) == []
        assert highlighted(panel(fig, "events_after")) == []
        assert highlighted(panel(fig, "landmark")) == [tick_labels(panel(fig, "landmark"))[1]]
        assert highlighted(panel(fig, "km_joint")) == [tick_labels(panel(fig, "km_joint"))[0]]
        assert any("outside 90% predictive interval" in t for t in legend_texts(fig))
    finally:
        plt.close(fig)


def test_survival_figure_with_some_terms(survival_check):
    part = survival_check[survival_check["term"].isin(["km_joint", "landmark"])]
    fig = survival_ppc_plot(part, title="PFS", endpoint="OS")
    try:
        assert [ax.get_label() for ax in fig.axes] == ["landmark", "km_joint"]
        assert panel(fig, "landmark").get_xlabel() == "OS landmark survival"
    finally:
        plt.close(fig)


def test_survival_empty_or_unknown_table_raises(survival_check):
    with pytest.raises(ValueError, match="empty"):
        survival_ppc_plot(pd.DataFrame(), title="x", endpoint="PFS")
    with pytest.raises(ValueError, match="empty"):
        survival_ppc_plot(survival_check.iloc[:0], title="x", endpoint="PFS")
    with pytest.raises(ValueError, match="unknown term"):
        survival_ppc_plot(survival_check.assign(term="hazard"), title="x", endpoint="PFS")
