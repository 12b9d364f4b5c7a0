"""EXNEX with several exchangeable components (Neuenschwander et al. 2016, Pharm Stat 15:123,
section 2: a mixture of EX components plus NEX).

* the graph's log density with two EX components at a fixed point against scipy;
* component probabilities with one EX component are the one-component formula, and a second EX
  component of weight 0 changes nothing;
* the exact engine with two EX components (enumeration of the assignments,
  :mod:`bayes_anlo.exact.exnex_components`) against a brute-force computation: importance
  sampling of the four hyperparameters from their prior, each subtype's effect integrated on a
  fixed grid (no adaptive Gauss-Hermite, no MCMC, no enumeration); its draws against its own
  draw-free summaries;
* (slow) NUTS with two EX components against the same brute force and against the exact fit;
* with the second EX component's weight 0 (bhmbasket's sarcoma set-up) the enumeration engine
  matches the one-component grid engine, and (slow) so does NUTS;
* options and refusals.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, log_expit, logit

from bayes_anlo.exact.exnex_components import ExnexComponentsPosterior
from bayes_anlo.models.exnex import (
    Exnex,
    ExnexPriors,
    build_exnex,
    component_probabilities,
    exchangeability_table,
    prob_exchangeable,
)
from bayes_anlo.models.options import ExnexOptions
from bayes_anlo.models.priors import HalfCauchy, HalfNormal, Normal
from tests.models._data import FAST_NUTS, make_binary

#: Made-up subtypes: two low-rate, two high-rate and one in between, so two EX components
#: (centred at rates 0.15 and 0.6) and NEX all carry posterior weight.
EVENTS = np.array([2, 3, 15, 17, 4])
N = np.array([20, 20, 25, 25, 20])
PRIORS = ExnexPriors(
    mu=Normal(float(logit(0.15)), 1.0),
    tau=HalfNormal(0.5),
    nex=Normal(-1.0, 2.0),
    mu_2=Normal(float(logit(0.6)), 1.0),
    tau_2=HalfNormal(0.5),
)
WEIGHTS = (0.4, 0.3, 0.3)


def data():
    return make_binary(EVENTS, N)


def test_two_component_log_density_matches_scipy():
    model = build_exnex(data(), PRIORS, weights=WEIGHTS)
    mu, tau, mu2, tau2 = -1.5, 0.4, 0.3, 0.7
    theta = np.array([-2.0, -1.2, 0.5, 0.9, -0.4])
    logp = model.compile_logp(jacobian=False)
    got = logp(
        {
            "mu": mu,
            "tau_log__": np.log(tau),
            "mu_2": mu2,
            "tau_2_log__": np.log(tau2),
            "theta": theta,
        }
    )
    mixture = np.log(
        WEIGHTS[0] * stats.norm(mu, tau).pdf(theta)
        + WEIGHTS[1] * stats.norm(mu2, tau2).pdf(theta)
        + WEIGHTS[2] * stats.norm(-1.0, 2.0).pdf(theta)
    )
    expected = (
        stats.norm(logit(0.15), 1.0).logpdf(mu)
        + stats.halfnorm(scale=0.5).logpdf(tau)
        + stats.norm(logit(0.6), 1.0).logpdf(mu2)
        + stats.halfnorm(scale=0.5).logpdf(tau2)
        + mixture.sum()
        + stats.binom(N, expit(theta)).logpmf(EVENTS).sum()
    )
    assert got == pytest.approx(expected, rel=1e-10)


def test_one_component_and_a_weightless_second_reduce_to_the_one_component_formula():
    nex = Normal(-1.734, 2.8)
    mu, tau = np.array([[-1.6], [-1.0]]), np.array([[0.45], [0.2]])
    one = prob_exchangeable(EVENTS, N, mu, tau, nex, 0.5)
    probs = component_probabilities(EVENTS, N, [mu], [tau], nex, (0.5, 0.5))
    np.testing.assert_allclose(probs[..., 0], one, rtol=1e-12)
    two = component_probabilities(EVENTS, N, [mu, mu + 2.0], [tau, tau], nex, (0.5, 0.0, 0.5))
    np.testing.assert_allclose(two[..., 0], one, rtol=1e-12)
    assert np.all(two[..., 1] == 0.0)
    np.testing.assert_allclose(two.sum(axis=-1), 1.0, rtol=1e-12)


def test_options_and_refusals():
    model = Exnex(PRIORS, weights=WEIGHTS)
    assert model.n_ex == 2 and model.weight_ex == pytest.approx(0.7)
    assert model.resolved_method(model.prepare(data())) == "exact"
    again = Exnex.from_config(model.config())
    assert again.weights == WEIGHTS and again.priors == PRIORS
    assert Exnex(weight_ex=0.3).weights == (0.3, 0.7)
    # the enumeration engine needs Normal / HalfNormal priors and few enough assignments
    heavy = ExnexPriors(mu_2=Normal(0.5, 1.0), tau_2=HalfCauchy(1.0))
    assert Exnex(heavy, weights=WEIGHTS).resolved_method(model.prepare(data())) == "nuts"
    with pytest.raises(ValueError, match="Normal mu and HalfNormal tau"):
        Exnex(heavy, weights=WEIGHTS, method="exact")
    many = make_binary(np.arange(12), np.full(12, 20))  # 3^12 assignments
    assert model.resolved_method(model.prepare(many)) == "nuts"
    with pytest.raises(ValueError, match="too many assignments"):
        Exnex(PRIORS, weights=WEIGHTS, method="exact").fit(many)
    with pytest.raises(ValueError, match="sum to 1"):
        Exnex(weights=(0.5, 0.3, 0.3))
    with pytest.raises(ValueError, match="1 <= K <= 3"):
        Exnex(weights=(0.2, 0.2, 0.2, 0.2, 0.2))
    assert ExnexOptions(weights=[0.25, 0.25, 0.5]).weights == [0.25, 0.25, 0.5]
    with pytest.raises(ValueError, match="summing to 1"):
        ExnexOptions(weights=[0.5, 0.6])


# ---- brute force: prior importance sampling with the effects integrated on a grid -------------

Z = np.linspace(-8.0, 8.0, 161)
PHI = stats.norm.pdf(Z) * (Z[1] - Z[0])  # trapezoid weights (the tails are ~0)


def _integrals(y, n, centre, scale):
    """For each hyperparameter draw: Int L(t) N(t | centre, scale) dt and Int expit(t) L(t) N dt,
    with t = centre + scale z on a fixed z grid (L the binomial likelihood)."""
    t = centre[:, None] + scale[:, None] * Z
    lik = np.exp(y * log_expit(t) + (n - y) * log_expit(-t))
    return lik @ PHI, (lik * expit(t)) @ PHI


def _brute_force(draws=8000, seed=0):
    """Posterior P(component) and mean rate per subtype, with their importance-sampling SEs."""
    rng = np.random.default_rng(seed)
    centres = [PRIORS.mu.rvs(draws, rng), PRIORS.mu_2.rvs(draws, rng), np.full(draws, -1.0)]
    scales = [PRIORS.tau.rvs(draws, rng), PRIORS.tau_2.rvs(draws, rng), np.full(draws, 2.0)]
    w = np.asarray(WEIGHTS)
    lik = np.empty((len(EVENTS), 3, draws))
    rate = np.empty((len(EVENTS), 3, draws))
    for j in range(len(EVENTS)):
        for k in range(3):
            lik[j, k], rate[j, k] = _integrals(EVENTS[j], N[j], centres[k], scales[k])
    mixture = np.einsum("k,jkd->jd", w, lik)
    log_iw = np.log(mixture).sum(axis=0)
    iw = np.exp(log_iw - log_iw.max())
    iw /= iw.sum()
    assert 1.0 / np.sum(iw**2) > 1000  # enough effective draws for the SEs below

    def estimate(g):  # self-normalised IS mean and its delta-method SE
        mean = np.sum(iw * g, axis=-1)
        se = np.sqrt(np.sum(iw**2 * (g - mean[..., None]) ** 2, axis=-1))
        return mean, se

    probs = w[None, :, None] * lik / mixture[:, None, :]
    mean_rate = np.einsum("k,jkd->jd", w, rate) / mixture
    return estimate(probs), estimate(mean_rate)


def _mcse_of_mean(draws: np.ndarray) -> float:
    import xarray as xr
    from arviz_stats import mcse

    return float(mcse(xr.Dataset({"x": (("chain", "draw"), draws)}), method="mean")["x"])


@pytest.fixture(scope="module")
def brute_force():
    return _brute_force()


@pytest.fixture(scope="module")
def exact_fit():
    return Exnex(PRIORS, weights=WEIGHTS, sampler=FAST_NUTS).fit(data(), random_seed=20)


@pytest.fixture(scope="module")
def two_component_fit():
    return Exnex(PRIORS, weights=WEIGHTS, method="nuts", sampler=FAST_NUTS).fit(
        data(), random_seed=21
    )


def test_exact_two_components_match_brute_force_importance_sampling(exact_fit, brute_force):
    (prob, prob_se), (rate, rate_se) = brute_force
    post = exact_fit["posterior"]
    assert exact_fit.attrs["method"] == "exact"
    assert set(post.data_vars) >= {"mu", "tau", "mu_2", "tau_2", "theta", "prob_component"}
    assert list(post["component"].values) == ["EX1", "EX2", "NEX"]
    for j in range(len(EVENTS)):
        draws = post["study_rate"].values[..., j]
        tol = 4 * np.hypot(draws.std() / np.sqrt(draws.size), rate_se[j])
        assert abs(draws.mean() - rate[j]) < tol, (j, draws.mean(), rate[j])
    # component probabilities are exact sums over the assignments: one value in every draw
    probs = post["prob_component"].values
    assert np.all(probs == probs[0, 0])
    np.testing.assert_allclose(probs[0, 0], prob, atol=4 * prob_se.max() + 1e-3)
    assert prob[0, 0] > prob[0, 1] and prob[2, 1] > prob[2, 0]
    np.testing.assert_allclose(
        post["prob_exchangeable"].values[0, 0], prob[:, 0] + prob[:, 1], atol=0.01
    )


def test_exact_draws_match_the_draw_free_summaries_of_the_same_engine():
    """The draws (assignment, grid cell of each (mu_k, tau_k), theta_j) reproduce the engine's
    quadrature of P(p_j > 0.3 | y) and E(p_j | y), within 4 binomial / mean SEs."""
    engine = Exnex(PRIORS, weights=WEIGHTS).components_posterior(data())
    draws = 20_000
    sample = engine.sample(EVENTS, draws, np.random.default_rng(4))
    summaries = ExnexComponentsPosterior(
        engine.prior, engine.n, [0.3] * len(EVENTS), h_mu=engine.grid.h_mu, h_tau=engine.grid.h_tau
    ).analyse(EVENTS)
    rate = expit(sample["theta"])
    assert np.all(
        np.abs(rate.mean(axis=0) - summaries["mean"]) < 4 * rate.std(axis=0) / np.sqrt(draws)
    )
    tail, expected = (rate > 0.3).mean(axis=0), summaries["prob_greater"]
    assert np.all(np.abs(tail - expected) < 4 * np.sqrt(expected * (1 - expected) / draws))
    ex = (sample["assignment"] < 2).mean(axis=0)
    p_ex = engine.component_probabilities(EVENTS)[:, :2].sum(axis=1)
    np.testing.assert_allclose(p_ex, summaries["prob_exchangeable"], rtol=1e-12)
    assert np.all(np.abs(ex - p_ex) < 4 * np.sqrt(p_ex * (1 - p_ex) / draws))


@pytest.mark.slow
def test_exact_and_nuts_agree_with_two_components(exact_fit, two_component_fit):
    for name in ("study_rate", "prob_exchangeable"):
        for j in range(len(EVENTS)):
            x = two_component_fit["posterior"][name].values[..., j]
            y = exact_fit["posterior"][name].values[..., j]
            tol = 4 * np.hypot(_mcse_of_mean(x), y.std() / np.sqrt(y.size)) + 1e-3
            assert abs(x.mean() - y.mean()) < tol, (name, j, x.mean(), y.mean())


@pytest.mark.slow
def test_two_components_match_brute_force_importance_sampling(two_component_fit, brute_force):
    (prob, prob_se), (rate, rate_se) = brute_force
    post = two_component_fit["posterior"]
    assert two_component_fit.attrs["method"] == "nuts"
    assert list(post["component"].values) == ["EX1", "EX2", "NEX"]
    for j in range(len(EVENTS)):
        draws = post["study_rate"].values[..., j]
        tol = 4 * np.hypot(_mcse_of_mean(draws), rate_se[j])
        assert abs(draws.mean() - rate[j]) < tol, (j, draws.mean(), rate[j])
        for k in range(3):
            pk = post["prob_component"].values[..., j, k]
            tol = 4 * np.hypot(_mcse_of_mean(pk), prob_se[j, k]) + 1e-3
            assert abs(pk.mean() - prob[j, k]) < tol, (j, k, pk.mean(), prob[j, k])
    # the low subtypes lean to EX1, the high ones to EX2: the components are distinguished
    assert prob[0, 0] > prob[0, 1] and prob[2, 1] > prob[2, 0]
    table = exchangeability_table(two_component_fit)
    np.testing.assert_allclose(
        table["prob_exchangeable"], table["prob_EX1"] + table["prob_EX2"], rtol=1e-12
    )


def test_the_two_exact_engines_agree_with_a_weightless_second_component():
    """Weights (0.5, 0, 0.5) take the enumeration engine, weight_ex = 0.5 the (mu, tau) grid
    engine of the same model: rates within 4 combined SEs of their draws, P(EX) within 0.01
    (the enumeration's is exact, the grid engine's an average over draws)."""
    enumerated = Exnex(PRIORS, weights=(0.5, 0.0, 0.5), method="exact", sampler=FAST_NUTS)
    grid = Exnex(PRIORS, weight_ex=0.5, method="exact", sampler=FAST_NUTS)
    x, y = enumerated.fit(data(), random_seed=24), grid.fit(data(), random_seed=25)
    assert "assignment enumeration" in str(x.attrs["exact"])
    for j in range(len(EVENTS)):
        a, b = (t["posterior"]["study_rate"].values[..., j] for t in (x, y))
        assert abs(a.mean() - b.mean()) < 4 * np.hypot(a.std(), b.std()) / np.sqrt(a.size)
    np.testing.assert_allclose(
        x["posterior"]["prob_exchangeable"].values[0, 0],
        y["posterior"]["prob_exchangeable"].values.mean(axis=(0, 1)),
        atol=0.01,
    )
    assert np.all(x["posterior"]["prob_component"].sel(component="EX2").values == 0.0)


@pytest.mark.slow
def test_a_weightless_second_component_matches_the_exact_one_component_engine():
    """bhmbasket's sarcoma set-up: weights (EX1, EX2, NEX) = (0.5, 0, 0.5) is the one-component
    model; NUTS on the two-component graph against the exact engine, within 4 combined MCSE."""
    nuts = Exnex(PRIORS, weights=(0.5, 0.0, 0.5), method="nuts", sampler=FAST_NUTS).fit(
        data(), random_seed=22
    )
    exact = Exnex(PRIORS, weight_ex=0.5, method="exact", sampler=FAST_NUTS).fit(
        data(), random_seed=23
    )
    assert exact.attrs["method"] == "exact"
    for name in ("study_rate", "prob_exchangeable"):
        for j in range(len(EVENTS)):
            x = nuts["posterior"][name].values[..., j]
            y = exact["posterior"][name].values[..., j]
            tol = 4 * np.hypot(_mcse_of_mean(x), y.std() / np.sqrt(y.size))
            assert abs(x.mean() - y.mean()) < tol, (name, j)
    assert np.all(nuts["posterior"]["prob_component"].sel(component="EX2").values == 0.0)
