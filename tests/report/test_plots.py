"""Report figures built from real fits: what the legend promises is what the figure draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bayes_anlo import frequentist as fq  # noqa: E402
from bayes_anlo.models import BetaBinomial  # noqa: E402
from bayes_anlo.models.sampling import SamplerSettings  # noqa: E402
from bayes_anlo.report import plots, tables  # noqa: E402
from tests.models._data import make_binary  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    data = make_binary([3, 8, 0, 12, 5], [30, 41, 18, 52, 25])
    tree = BetaBinomial(method="exact", sampler=SamplerSettings(chains=2, draws=500)).fit(
        data, random_seed=1
    )
    studies = tables.study_table(data.labels, data.events, data.n, tree)
    bayes = [tables.bayesian_comparison_rows(tree, "beta-binomial")]
    comparison = tables.comparison_table(
        bayes, [fq.pool_proportions(data, transform="logit", method="REML")], None
    )
    return studies, comparison


def legend_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_forest_legend_names_prediction_intervals_only_when_drawn(fitted):
    studies, comparison = fitted
    assert comparison["pi_low"].notna().any()
    fig = plots.forest_plot(studies, comparison, title="t", outcome="ORR")
    assert "95% prediction interval" in legend_texts(fig)
    plt.close(fig)
    without = comparison.assign(pi_low=float("nan"), pi_high=float("nan"))
    fig = plots.forest_plot(studies, without, title="t", outcome="ORR")
    assert "95% prediction interval" not in legend_texts(fig)
    assert fig.axes[0].get_xlabel() == "ORR (proportion of patients)"
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[0] == "S01  3/30" and len(ticks) == len(studies) + 1 + len(comparison)
    plt.close(fig)
