"""Power-scaling sensitivity: the ``log_prior`` group every fit carries, and the ArviZ diagnostic
computed from it, checked against independent computations.

* Conjugate model: power-scaling a Beta(a, b) prior by alpha gives the Beta(alpha (a - 1) + 1,
  alpha (b - 1) + 1) prior, and scaling the binomial likelihood gives Beta(a + alpha y, b + alpha
  (n - y)), so the perturbed posteriors are known exactly. The cumulative Jensen-Shannon distance
  of Kallioinen et al. (2024) is computed here from the exact CDFs by quadrature, independently
  of ArviZ, and must match the value from the draws.
* Hierarchical model: importance weights built from the ``log_prior`` group for a strongly scaled
  kappa prior must reproduce an exact refit under the scaled prior. The density is scaled on the
  scale the prior is stated on (kappa, Jacobian included): ``LogNormal(m, s) ** alpha`` is
  ``LogNormal(m + (1 - alpha) s^2 / alpha, s / sqrt(alpha))``.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayes_anlo.checks.power_scaling import power_scaling, with_log_prior
from bayes_anlo.models import (
    BetaBinomial,
    CompletePooling,
    LogitNormal,
    PiecewiseExponential,
    PiecewiseExponentialPriors,
    TwoArm,
)
from bayes_anlo.models.priors import (
    Beta,
    BetaBinomialPriors,
    CompletePoolingPriors,
    LogNormal,
)
from bayes_anlo.models.sampling import SamplerSettings
from tests.models._data import make_binary, simulate_beta_binomial

A, B, Y, N = 3.0, 12.0, 5, 20


def _cjs(fp: np.ndarray, fq: np.ndarray, dx: np.ndarray) -> float:
    """Cumulative Jensen-Shannon distance of two CDFs on a grid (Kallioinen et al. 2024, eq. 9,
    normalised as ArviZ/priorsense do)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m = 0.5 * (fp + fq)
        lp = np.where(fp > 0, np.log2(fp), 0.0)
        lq = np.where(fq > 0, np.log2(fq), 0.0)
        lm = np.where(m > 0, np.log2(m), 0.0)
    ip, iq = np.sum(fp * dx), np.sum(fq * dx)
    pq = max(0.0, np.sum(dx * fp * (lp - lm)) + 0.5 / np.log(2) * (iq - ip))
    qp = max(0.0, np.sum(dx * fq * (lq - lm)) + 0.5 / np.log(2) * (ip - iq))
    return float(np.sqrt((pq + qp) / (ip + iq)))


def exact_sensitivity(base, perturbed, lo: float, hi: float, alphas=(0.99, 1.01)) -> float:
    """Mean over alphas of CJS(base, perturbed(alpha)) / |log2 alpha|, on [lo, hi]; the larger of
    the distances of the variable and of its negation, as in ArviZ."""
    x = np.linspace(lo, hi, 200_001)
    mid, dx = 0.5 * (x[1:] + x[:-1]), np.diff(x)
    fp = base.cdf(mid)
    values = []
    for alpha in alphas:
        fq = perturbed(alpha).cdf(mid)
        values.append(max(_cjs(fp, fq, dx), _cjs(1 - fp, 1 - fq, dx)) / abs(np.log2(alpha)))
    return float(np.mean(values))


@pytest.fixture(scope="module")
def conjugate():
    model = CompletePooling(
        priors=CompletePoolingPriors(p=Beta(A, B)),
        method="exact",
        sampler=SamplerSettings(chains=4, draws=10_000),
    )
    tree = model.fit(make_binary([Y], [N]), random_seed=3)
    draws = tree["posterior"]["p"].values.ravel()
    base = stats.beta(A + Y, B + N - Y)
    lo, hi = draws.min(), draws.max()
    prior = exact_sensitivity(
        base, lambda a: stats.beta(a * (A - 1) + 1 + Y, a * (B - 1) + 1 + N - Y), lo, hi
    )
    like = exact_sensitivity(base, lambda a: stats.beta(A + a * Y, B + a * (N - Y)), lo, hi)
    return tree, prior, like


def test_conjugate_sensitivities_match_the_exact_perturbed_posteriors(conjugate):
    tree, prior, like = conjugate
    result = power_scaling(tree, ["p"])
    row = result.table.set_index("variable").loc["p"]
    assert prior > 0.05 and like > 0.05  # an informative prior, a moderately informative likelihood
    assert row["prior"] == pytest.approx(prior, rel=0.12)
    assert row["likelihood"] == pytest.approx(like, rel=0.12)
    assert result.scaled == ["p"] and result.flat == []
    assert all(result.reliable.values())


def test_a_wrong_log_prior_gives_a_value_the_exact_check_rejects(conjugate):
    """Negative control: the reversed prior Beta(B, A) in the log_prior group moves the value out
    of the tolerance the test above uses, so that test can fail."""
    tree, prior, _ = conjugate
    wrong = with_log_prior(tree, {"p": Beta(B, A)})
    value = power_scaling(wrong, ["p"]).table.set_index("variable").loc["p", "prior"]
    assert abs(value / prior - 1) > 0.3


def test_log_prior_group_holds_each_hyperprior_density_at_the_draws():
    y, n = simulate_beta_binomial(8, 0.2, 15.0, seed=4)
    model = BetaBinomial(method="exact", sampler=SamplerSettings(chains=2, draws=500))
    tree = model.fit(make_binary(y, n), random_seed=1)
    log_prior = tree["log_prior"].to_dataset()
    assert set(log_prior.data_vars) == {"mu", "kappa"}
    post = tree["posterior"]
    np.testing.assert_allclose(
        log_prior["kappa"].values,
        stats.lognorm(1.5, scale=np.exp(3.0)).logpdf(post["kappa"].values),
    )
    np.testing.assert_allclose(log_prior["mu"].values, 0.0, atol=1e-12)  # Beta(1, 1)
    assert log_prior["kappa"].dims == ("chain", "draw")


def test_array_priors_are_summed_over_their_elements():
    data = make_binary([4, 9], [30, 31], arm=["a", "b"])
    tree = TwoArm(
        priors={"rate": {"dist": "beta", "alpha": 2, "beta": 5}},
        method="exact",
        sampler=SamplerSettings(chains=2, draws=300),
    ).fit(data, random_seed=2)
    rate = tree["posterior"]["rate"]
    expected = stats.beta(2, 5).logpdf(rate.values).sum(axis=-1)
    np.testing.assert_allclose(tree["log_prior"]["rate"].values, expected)


def test_importance_weights_from_log_prior_reproduce_a_refit_under_the_scaled_prior():
    """alpha = 0.5 on kappa ~ LogNormal(3, 1.5) is kappa ~ LogNormal(3 + 2.25, 1.5 / sqrt(0.5))."""
    y, n = simulate_beta_binomial(10, 0.15, 20.0, seed=7)
    data = make_binary(y, n)
    settings = SamplerSettings(chains=4, draws=10_000)
    tree = BetaBinomial(method="exact", sampler=settings).fit(data, random_seed=5)
    alpha = 0.5
    log_w = (alpha - 1) * tree["log_prior"]["kappa"].values.ravel()
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    scaled = LogNormal(3.0 + (1 - alpha) * 1.5**2 / alpha, 1.5 / np.sqrt(alpha))
    refit = BetaBinomial(
        priors=BetaBinomialPriors(kappa=scaled), method="exact", sampler=settings
    ).fit(data, random_seed=6)
    for var, transform in (("kappa", np.log), ("mu", lambda x: x)):
        weighted = np.sum(w * transform(tree["posterior"][var].values.ravel()))
        refitted = transform(refit["posterior"][var].values.ravel())
        base = transform(tree["posterior"][var].values.ravel())
        se = refitted.std() / np.sqrt(refitted.size) * 4 + 1e-3 * abs(refitted.mean())
        assert abs(weighted - refitted.mean()) < 6 * se, var
        if var == "kappa":  # the scaling really moved the posterior, so the check has power
            assert abs(base.mean() - refitted.mean()) > 10 * se


def test_flat_priors_are_left_out_and_named():
    y, n = simulate_beta_binomial(8, 0.2, 15.0, seed=4)
    data = make_binary(y, n)
    settings = SamplerSettings(chains=2, draws=2000)
    hier = power_scaling(
        BetaBinomial(method="exact", sampler=settings).fit(data, random_seed=1),
        ["mu", "kappa", "pooled_rate"],
    )
    assert hier.scaled == ["kappa"] and hier.flat == ["mu"]
    assert hier.table["prior"].notna().all()
    assert any("Flat priors left out" in note for note in hier.notes)

    single = power_scaling(
        CompletePooling(method="exact", sampler=settings).fit(
            make_binary([3], [20]), random_seed=1
        ),
        ["p", "pooled_rate"],
    )
    assert single.table["prior"].isna().all() and single.table["likelihood"].gt(0).all()
    assert single.scaled == [] and single.flat == ["p"]
    assert any("Every prior is flat" in note for note in single.notes)
    assert "khat" in single.khat and set(single.khat["component"]) == {"likelihood"}


def _conjugate_fit(a: float, b: float, y: int, n: int):
    model = CompletePooling(
        priors=CompletePoolingPriors(p=Beta(a, b)),
        method="exact",
        sampler=SamplerSettings(chains=4, draws=4000),
    )
    data = make_binary([y], [n])
    tree = model.fit(data, random_seed=2)
    prior = model.sample_prior_predictive(data, draws=8000, random_seed=3)["prior"].to_dataset()
    return tree, prior


def test_a_strong_prior_on_a_weakly_informed_quantity_is_called_prior_dominated():
    """Prior sensitivity high, likelihood low: ArviZ's "strong prior / weak likelihood"."""
    tree, prior = _conjugate_fit(200.0, 800.0, 1, 4)
    row = power_scaling(tree, ["p"], prior=prior).table.iloc[0]
    assert row["prior"] > 0.05 > row["likelihood"]
    assert row["diagnosis"] == "determined mainly by its prior (expected with few studies)"


def test_conflict_only_when_the_posterior_sits_in_the_tail_of_its_prior():
    """Both sensitivities above 0.05 in both cases; a prior Beta(200, 800) (20% +- 1.3%) against
    80/100 responders puts the posterior median beyond the prior's 97.5% quantile (a conflict); a
    Beta(20, 80) prior with 10/25 responders pulls the other way but keeps the posterior median inside
    the prior's central 95% (prior and data together). The
    prior percentile is checked against the exact Beta CDF at the exact posterior median."""
    conflict, prior = _conjugate_fit(200.0, 800.0, 80, 100)
    row = power_scaling(conflict, ["p"], prior=prior).table.iloc[0]
    assert row["prior"] >= 0.05 and row["likelihood"] >= 0.05
    exact = 100 * stats.beta(200, 800).cdf(stats.beta(280, 820).median())
    assert exact > 99.9 and row["prior_percentile"] > 97.5
    assert row["diagnosis"].startswith("prior-data conflict")

    agree, prior = _conjugate_fit(20.0, 80.0, 10, 25)
    result = power_scaling(agree, ["p"], prior=prior)
    row = result.table.iloc[0]
    assert row["prior"] >= 0.05 and row["likelihood"] >= 0.05
    exact = 100 * stats.beta(20, 80).cdf(stats.beta(30, 95).median())
    assert 2.5 < exact < 97.5
    assert (
        abs(row["prior_percentile"] - exact) < 2.0
    )  # 8000 prior draws: Monte Carlo error < 0.6 points
    assert row["diagnosis"] == "informed by prior and data together (expected with few studies)"
    assert any(s.startswith("Informed by prior and data together") for s in result.describe())
    unchecked = power_scaling(agree, ["p"]).table.iloc[0]  # no prior draws: no claim about conflict
    assert np.isnan(unchecked["prior_percentile"]) and "no prior draws" in unchecked["diagnosis"]


def test_logit_normal_reports_both_hyperpriors():
    y, n = simulate_beta_binomial(8, 0.2, 15.0, seed=4)
    tree = LogitNormal(method="exact", sampler=SamplerSettings(chains=2, draws=2000)).fit(
        make_binary(y, n), random_seed=1
    )
    result = power_scaling(tree, ["mu", "tau", "pooled_rate", "predictive_rate", "not_a_variable"])
    assert result.scaled == ["mu", "tau"]
    assert list(result.table["variable"]) == ["mu", "tau", "pooled_rate", "predictive_rate"]
    assert (result.table[["prior", "likelihood"]] >= 0).all().all()
    assert result.describe()[0].startswith("Power-scaling sensitivity")


def test_survival_prior_terms_follow_the_parametrisation():
    """Smoothed: the log-hazard prior is on the first interval only; log_hr covers arms and subgroups."""
    draws = {"chain": 2, "draw": 3}
    post = xr.Dataset(
        {
            "log_hazard_first": (("chain", "draw"), np.full((2, 3), -2.0)),
            "log_hazard": (("chain", "draw", "interval"), np.full((2, 3, 4), -2.0)),
            "smooth_sd": (("chain", "draw"), np.full((2, 3), 0.3)),
            "study_sd": (("chain", "draw"), np.full((2, 3), 0.2)),
            "log_hr_arm": (("chain", "draw", "arm_contrast"), np.zeros((2, 3, 1))),
        },
        coords={"chain": np.arange(draws["chain"]), "draw": np.arange(draws["draw"])},
    )
    priors = PiecewiseExponentialPriors()
    terms = PiecewiseExponential(priors=priors, smooth=True).prior_terms(post)
    assert terms == {
        "log_hazard_first": priors.log_hazard,
        "study_sd": priors.study_sd,
        "smooth_sd": priors.smooth_sd,
        "log_hr_arm": priors.log_hr,
    }
    unsmoothed = PiecewiseExponential(priors=priors).prior_terms(post.drop_vars("log_hazard_first"))
    assert "log_hazard" in unsmoothed and "log_hazard_first" not in unsmoothed
