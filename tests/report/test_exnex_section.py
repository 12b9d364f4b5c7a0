"""The EXNEX report section (bayes_anlo.report.exnex_section): table, wording, blocks.

The homogeneity p-value is checked against Pearson's statistic written out by hand; the table's
numbers against the fit's draws; the blocks for escaping of labels from the data.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_anlo.models.beta_binomial import BetaBinomial
from bayes_anlo.models.exnex import Exnex
from bayes_anlo.report.exnex_section import (
    add_exnex_results,
    exchangeability_summary,
    exnex_blocks,
    exnex_wording,
    within_subtype_homogeneity,
)
from bayes_anlo.report.render import Heading, Paragraph, Table, to_html, to_markdown
from bayes_anlo.report.result import AnalysisResult
from tests.models._data import FAST_NUTS, make_binary

SUBTYPE = ["**bold**", "**bold**", "B", "B", "B", "C"]
EVENTS = np.array([3, 9, 10, 7, 12, 1])
N = np.array([20, 25, 30, 28, 33, 15])


@pytest.fixture(scope="module")
def grouped_fit():
    data = make_binary(EVENTS, N, subtype=SUBTYPE)
    return Exnex(by="subtype", method="exact", sampler=FAST_NUTS).fit(data, random_seed=1)


@pytest.fixture(scope="module")
def row_fit():
    return Exnex(weight_ex=0.3, method="exact", sampler=FAST_NUTS).fit(
        make_binary(EVENTS, N), random_seed=2
    )


def _pearson_p(y, n):
    """Pearson's chi-square test of one rate across studies, written out."""
    y, n = np.asarray(y, float), np.asarray(n, float)
    p = y.sum() / n.sum()
    expected = np.concatenate([n * p, n * (1 - p)])
    observed = np.concatenate([y, n - y])
    statistic = np.sum((observed - expected) ** 2 / expected)
    return stats.chi2(len(y) - 1).sf(statistic)


def test_homogeneity_p_values_match_pearsons_statistic(grouped_fit):
    got = within_subtype_homogeneity(grouped_fit)
    assert got[0] == pytest.approx(_pearson_p(EVENTS[:2], N[:2]), rel=1e-10)
    assert got[1] == pytest.approx(_pearson_p(EVENTS[2:5], N[2:5]), rel=1e-10)
    assert np.isnan(got[2])  # one study: nothing to test


def test_summary_pools_each_subtype_and_reads_the_draws(grouped_fit):
    table = exchangeability_summary(grouped_fit, thresholds=(0.2,))
    assert list(table["subtype"]) == ["**bold**", "B", "C"]
    assert list(table["studies"]) == [2, 3, 1]
    assert list(table["n"]) == [45, 91, 15] and list(table["responders"]) == [12, 29, 1]
    assert np.all(table["prior_p_ex"] == 0.5)
    post = grouped_fit["posterior"]
    b = post["subgroup_rate"].sel(subgroup="B").values
    assert table["P(rate > 20%)"][1] == pytest.approx((b > 0.2).mean())
    assert table["ci_low"][1] == pytest.approx(np.quantile(b, 0.025))
    assert table["posterior_p_ex"][1] == pytest.approx(
        float(post["prob_exchangeable"].sel(subgroup="B").mean())
    )
    assert "homogeneity_p" in table


def test_wording_states_the_weights_and_the_pooling(grouped_fit, row_fit):
    text = " ".join(exnex_wording(row_fit))
    assert "prior probability 0.30" in text and "prior probability 0.70" in text
    assert "pooled count" not in text
    assert "pooled count" in " ".join(exnex_wording(grouped_fit))


def test_blocks_show_the_table_and_escape_labels(grouped_fit):
    result = AnalysisResult(id="x", title="x", model="exnex", tree=grouped_fit, converged=True)
    add_exnex_results(result, grouped_fit, thresholds=(0.2,))
    blocks = exnex_blocks(result, "x")
    assert isinstance(blocks[0], Heading) and "EXNEX" in blocks[0].text
    assert any(isinstance(b, Paragraph) for b in blocks)
    table = next(b for b in blocks if isinstance(b, Table))
    assert "posterior_p_ex" in table.percent_columns
    markdown = to_markdown(blocks)
    assert "\\*\\*bold\\*\\*" in markdown and "| **bold** |" not in markdown
    assert "<strong>bold</strong>" not in to_html(blocks, "t")


def test_other_models_get_no_section():
    tree = BetaBinomial(method="exact", sampler=FAST_NUTS).fit(make_binary(EVENTS, N))
    result = AnalysisResult(id="y", title="y", model="beta_binomial", tree=tree, converged=True)
    add_exnex_results(result, tree)
    assert "exchangeability" not in result.tables and exnex_blocks(result, "y") == []
