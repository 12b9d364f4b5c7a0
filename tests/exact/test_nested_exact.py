"""The nested beta-binomial quadrature engine (bayes_anlo.exact.nested) against independent
computations: brute-force integrals with scipy's beta-binomial, grid refinement, NUTS on the
bundled subgroup data, and the tree it writes against the NUTS tree."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from arviz_stats import mcse
from scipy import stats
from scipy.special import betaln, comb, expit

from bayes_anlo import datasets
from bayes_anlo.exact.nested import (
    DirectTerms,
    Subgroups,
    nested_beta_binomial_exact,
    sample_effects,
    subgroup_log_marginal,
)
from bayes_anlo.models import NestedBetaBinomial, NestedBetaBinomialPriors, SamplerSettings
from bayes_anlo.models.priors import Beta, HalfNormal, LogNormal
from tests.models._data import make_binary

QUANTILES = (0.05, 0.5, 0.95)


def _bb_logpmf(y, n, a, b):
    """Beta-binomial log-pmf from scipy's betaln (independent of the package's rising
    factorials)."""
    return np.log(comb(n, y)) + betaln(y + a, n - y + b) - betaln(a, b)


def _subgroup_integral(y, n, u, s, kappa):
    """``log Int N(z) prod_i BetaBinomial(y_i | n_i, expit(u + s z) kappa, ...) dz`` by the
    trapezoid rule (u, s, kappa scalars)."""
    z = np.linspace(-9.0, 9.0, 3601)
    p = expit(u + s * z)
    log_f = sum(_bb_logpmf(yi, ni, p * kappa, (1 - p) * kappa) for yi, ni in zip(y, n, strict=True))
    return math.log(np.trapezoid(np.exp(log_f) * stats.norm.pdf(z), z))


@pytest.mark.parametrize("kappa", [0.5, 30.0, 5e4])
def test_subgroup_integral_against_trapezoid(kappa):
    """Adaptive Gauss-Hermite over the subgroup effect (direct and tabulated likelihood) equals a
    fine trapezoid rule with scipy's densities, from s = 0 (no integral: the likelihood at u) to
    a wide subgroup spread."""
    y, n, group = [0, 3, 9, 4], [12, 30, 40, 9], [0, 0, 1, 1]
    sub = Subgroups.from_rows(y, n, group)
    u = np.array([-2.0, -1.0, 0.5, -3.0, 1.0])
    s = np.array([0.0, 0.05, 0.4, 1.5, 4.0])
    kappas = np.full(u.size, kappa)
    direct = subgroup_log_marginal(DirectTerms(sub, kappas), sub, u, s, kappas)
    tabulated = subgroup_log_marginal(sub.table(kappa, -30.0, 30.0), sub, u, s, kappas)
    for k in range(u.size):
        for g in (0, 1):
            rows = [i for i, gi in enumerate(group) if gi == g]
            reference = _subgroup_integral(
                [y[i] for i in rows], [n[i] for i in rows], u[k], s[k], kappa
            )
            # the subgroup integrals leave out the effect-free constant; add it from scipy
            own = direct[k, g] + _constant(rows, kappa, y, n)
            # s = 4 with a rate far from the data (expit(1) against 3/42) skews the integrand in
            # z: 32 Gauss-Hermite nodes are then good to 5e-6 (1e-8 where the posterior lies)
            assert own == pytest.approx(reference, abs=1e-6 if s[k] < 2 else 1e-5), (k, g)
            assert tabulated[k, g] == pytest.approx(direct[k, g], abs=1e-7), (k, g)


def _constant(rows, kappa, y, n):
    """``sum_{i in rows} log C(n_i, y_i) - log (kappa)_(n_i)`` from scipy."""
    return sum(
        math.log(comb(n[i], y[i])) + math.lgamma(kappa) - math.lgamma(kappa + n[i]) for i in rows
    )


#: Small case for the brute-force check: priors tight enough for a compact integration box.
SMALL_PRIORS = NestedBetaBinomialPriors(
    mu=Beta(2.0, 5.0), sigma_subgroup=HalfNormal(0.5), kappa=LogNormal(3.0, 1.0)
)
SMALL = {"events": [2, 5, 1], "n": [10, 12, 9], "group": [0, 0, 1]}


def _brute_force_small():
    """Evidence and posterior means by product rules over (u, s, v) on [-10, 4] x [0, 3] x [-3, 9]
    (trapezoid in u and v, spectrally accurate for these smooth, fast-decaying integrands;
    Gauss-Legendre in s, where s times the density is odd about 0) and the trapezoid rule over
    each subgroup effect, with scipy densities throughout. More points move the results by
    about 1e-8 at most."""
    y, n, group = (np.array(SMALL[k]) for k in ("events", "n", "group"))

    def trapezoid(lo, hi, k):
        x = np.linspace(lo, hi, k)
        w = np.full(k, x[1] - x[0])
        w[[0, -1]] *= 0.5
        return x, w

    x, w = np.polynomial.legendre.leggauss(20)
    (u, wu), (s, ws), (v, wv) = (
        trapezoid(-10, 4, 41),
        (1.5 * x + 1.5, 1.5 * w),
        trapezoid(-3, 9, 35),
    )
    uu, ss, vv = np.meshgrid(u, s, v, indexing="ij")
    kappa = np.exp(vv)[..., None]
    z = np.linspace(-7.0, 7.0, 141)
    log_lik = np.zeros(uu.shape)
    for g in (0, 1):
        p = expit(uu[..., None] + ss[..., None] * z)
        log_f = sum(
            _bb_logpmf(y[i], n[i], p * kappa, (1 - p) * kappa) for i in np.flatnonzero(group == g)
        )
        log_lik += np.log(np.trapezoid(np.exp(log_f) * stats.norm.pdf(z), z, axis=-1))
    prior = (
        stats.beta(2, 5).pdf(expit(uu)) * expit(uu) * expit(-uu)
        * stats.halfnorm(scale=0.5).pdf(ss)
        * stats.lognorm(s=1.0, scale=math.exp(3.0)).pdf(np.exp(vv)) * np.exp(vv)
    )  # fmt: skip
    joint = prior * np.exp(log_lik) * np.einsum("i,j,k->ijk", wu, ws, wv)
    z_total = joint.sum()
    means = {
        name: float((joint * grid).sum() / z_total)
        for name, grid in (("u", uu), ("s", ss), ("v", vv))
    }
    return math.log(z_total), means


def test_evidence_and_means_against_brute_force():
    log_z, means = _brute_force_small()
    exact = nested_beta_binomial_exact(SMALL["events"], SMALL["n"], SMALL["group"], SMALL_PRIORS)
    assert exact.log_evidence == pytest.approx(log_z, abs=1e-6)
    assert exact.mean("logit_mu") == pytest.approx(means["u"], abs=1e-6)
    assert exact.mean("sigma_subgroup") == pytest.approx(means["s"], abs=1e-6)
    assert exact.mean("log_kappa") == pytest.approx(means["v"], abs=1e-6)


def test_grid_is_converged_in_resolution():
    """The documented accuracy check: refining the fine grid from 32 to 44 cells per axis changes
    the evidence by < 1e-6 (relative: absolute on the log scale) and the posterior means by
    < 1e-5 (relative) on the bundled subgroup data."""
    prep = _bundled_prep()
    args = (prep.events, prep.n, prep.index["subgroup"], NestedBetaBinomialPriors())
    coarse = nested_beta_binomial_exact(*args, n_fine=32)
    fine = nested_beta_binomial_exact(*args, n_fine=44)
    assert coarse.log_evidence == pytest.approx(fine.log_evidence, abs=1e-6)
    for name in ("logit_mu", "mu", "sigma_subgroup", "log_kappa", "icc"):
        assert coarse.mean(name) == pytest.approx(fine.mean(name), rel=1e-5), name
        np.testing.assert_allclose(
            coarse.quantile(name, QUANTILES), fine.quantile(name, QUANTILES), rtol=2e-2
        )


# ---- against NUTS on the bundled subgroup data ----------------------------------------------


def _bundled():
    """Anlotinib sarcoma studies (bundled dataset), ORR, nested by tissue (STS / bone)."""
    return datasets.load("sarcoma_literature_abstracts").select(outcome="ORR")


def _bundled_prep():
    from bayes_anlo.models.nested_beta_binomial import prepare_nested

    return prepare_nested(_bundled(), "subgroup")


#: As the sarcoma meta-analysis spec runs this analysis (target_accept 0.99); 2 chains keep the
#: test to a few seconds, the MCSE criteria account for the fewer draws.
NUTS = SamplerSettings(draws=1000, tune=1000, chains=2, target_accept=0.99)


@pytest.fixture(scope="module")
def bundled_fits():
    data = _bundled()
    nuts = NestedBetaBinomial(sampler=NUTS).fit(data, random_seed=11)
    exact_model = NestedBetaBinomial(method="exact", sampler=NUTS)
    return data, nuts, exact_model.fit(data, random_seed=12), exact_model.exact_posterior(data)


def _z_check(draws: xr.DataArray, target: float, what):
    err = float(mcse(xr.Dataset({"x": draws}), method="mean")["x"])
    assert abs(float(draws.mean()) - target) < 4 * err, (what, float(draws.mean()), target, err)


def _quantile_check(draws: xr.DataArray, targets, what):
    for q, target in zip(QUANTILES, targets, strict=True):
        err = float(mcse(xr.Dataset({"x": draws}), method="quantile", prob=q)["x"])
        got = float(np.quantile(draws.values, q))
        assert abs(got - target) < 4 * err + 1e-12, (what, q, got, target, err)


def test_nuts_matches_the_grid(bundled_fits):
    """NUTS hyperparameters: means within 4 MCSE of the grid's exact means, quantiles within 4
    quantile-MCSE (MCSE from arviz_stats, accounting for autocorrelation)."""
    _, nuts, _, exact = bundled_fits
    assert int(nuts["sample_stats"]["diverging"].sum()) <= 4
    post = nuts["posterior"]
    draws = {
        "mu": post["mu"],
        "sigma_subgroup": post["sigma_subgroup"],
        "log_kappa": np.log(post["kappa"]),
        "icc": post["icc"],
    }
    for name, da in draws.items():
        _z_check(da, exact.mean(name), name)
        _quantile_check(da, exact.quantile(name, QUANTILES), name)


def test_exact_draws_match_nuts(bundled_fits):
    """Every posterior variable both fits write (subgroup effects, subgroup and study rates,
    predictive rates): means agree within 4 combined MCSE (NUTS's from arviz_stats, the exact
    fit's iid sd / sqrt(N))."""
    _, nuts, exact_tree, _ = bundled_fits
    a, b = nuts["posterior"], exact_tree["posterior"]
    for name in b.data_vars:
        for element in np.ndindex(b[name].shape[2:]):
            x = a[name].values[(slice(None), slice(None), *element)]
            y = b[name].values[(slice(None), slice(None), *element)].ravel()
            if name == "kappa":
                x, y = np.log(x), np.log(y)
            err_a = float(mcse(xr.Dataset({"x": (("chain", "draw"), x)}), method="mean")["x"])
            err = math.hypot(err_a, y.std() / math.sqrt(y.size))
            assert abs(x.mean() - y.mean()) < 4 * err, (name, element, x.mean(), y.mean(), err)


def test_exact_tree_has_the_nuts_tree_shape(bundled_fits):
    """Same posterior variables with the same dims and coords; log-likelihood and posterior
    predictive of the same shape, dims and coords; method recorded as exact with its summary."""
    data, nuts, exact_tree, exact = bundled_fits
    assert set(exact_tree["posterior"].data_vars) == set(nuts["posterior"].data_vars)
    for name, da in nuts["posterior"].data_vars.items():
        other = exact_tree["posterior"][name]
        assert other.dims == da.dims, name
        assert other.shape == da.shape, name
        for dim in da.dims[2:]:
            assert list(other[dim].values) == list(da[dim].values), (name, dim)
    for group in ("log_likelihood", "posterior_predictive", "observed_data", "constant_data"):
        for name, da in nuts[group].data_vars.items():
            other = exact_tree[group][name]
            assert other.dims == da.dims and other.shape == da.shape, (group, name)
            for dim in da.dims:
                if dim not in ("chain", "draw"):
                    assert list(other[dim].values) == list(da[dim].values), (group, name, dim)
    assert "sample_stats" not in exact_tree.children
    assert exact_tree.attrs["method"] == "exact"
    summary = json.loads(exact_tree.attrs["exact"])
    assert summary["grid"] == ["t", "asinh_sigma", "log_kappa"]
    assert summary["log_evidence"] == pytest.approx(exact.log_evidence)
    rep = exact_tree["posterior_predictive"]["events"].values
    assert rep.min() >= 0 and np.all(rep <= data.n)
    # the exact draws have the grid's moments (iid: sd / sqrt(N) is their standard error)
    kappa = exact_tree["posterior"]["kappa"].values.ravel()
    assert abs(np.log(kappa).mean() - exact.mean("log_kappa")) < 4 * np.log(
        kappa
    ).std() / math.sqrt(kappa.size)


def test_binomial_within_pools_each_subgroup():
    """A forced binomial within level: the posterior is that of the subgroup totals, one row per
    subgroup, and the evidence differs by log prod_i C(n_i, y_i) / C(N_g, Y_g) (scipy's comb)."""
    y, n, groups = [2, 5, 1, 0], [10, 12, 9, 7], ["a", "a", "b", "b"]
    rows = make_binary(y, n, subgroup=groups)
    totals = make_binary([7, 1], [22, 16], subgroup=["a", "b"])
    model = NestedBetaBinomial(within="binomial")
    by_row = model.exact_posterior(rows)
    by_total = model.exact_posterior(totals)
    shift = sum(math.log(comb(ni, yi)) for yi, ni in zip(y, n, strict=True)) - math.log(
        comb(22, 7) * comb(16, 1)
    )
    assert by_row.log_evidence == pytest.approx(by_total.log_evidence + shift, abs=1e-10)
    assert by_row.mean("sigma_subgroup") == pytest.approx(by_total.mean("sigma_subgroup"))
    tree = NestedBetaBinomial(within="binomial", method="exact").fit(rows, random_seed=3)
    assert "kappa" not in tree["posterior"]
    assert tree["posterior"]["z_subgroup"].shape[-1] == 2


def test_spec_with_method_exact_reaches_the_engine(tmp_path):
    """A spec asking for the nested model with ``method = "exact"`` on several studies per
    subgroup passes validation and is fitted by the 3-D grid (its summary is in the tree)."""
    from click.testing import CliRunner

    from bayes_anlo.cli import app
    from tests.pipeline.conftest import CSV, SPEC

    spec = SPEC.split("[[analyses]]")[0] + (
        '[[analyses]]\nid = "orr_nested"\ntitle = "Synthetic ORR by tissue"\noutcome = "ORR"\n'
        'model = "nested_beta_binomial"\nby = "subgroup"\nmethod = "exact"\nsensitivity = false\n'
    )
    (tmp_path / "studies.csv").write_text(CSV)
    (tmp_path / "spec.toml").write_text(spec)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "spec.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tree = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    assert tree["orr_nested"].attrs["method"] == "exact"
    summary = json.loads(tree["orr_nested"].attrs["exact"])
    assert summary["grid"] == ["t", "asinh_sigma", "log_kappa"]
    assert "kappa" in tree["orr_nested"]["posterior"]


def test_effect_draws_follow_their_conditional():
    """Draws of a subgroup effect given (u, s, kappa) have the mean and SD of its conditional
    density computed by the trapezoid rule with scipy's beta-binomial (within 4 standard errors;
    the sampler's piecewise-constant cells widen the SD by about 0.15%)."""
    y, n, group = [0, 3, 9, 4], [12, 30, 40, 9], [0, 0, 1, 1]
    sub = Subgroups.from_rows(y, n, group)
    size = 8000
    z = np.linspace(-10.0, 10.0, 4001)
    for u, s, kappa in ((-2.0, 0.6, 30.0), (-1.0, 2.5, 4.0)):
        draws = sample_effects(
            sub,
            np.full(size, u),
            np.full(size, s),
            np.full(size, kappa),
            np.random.default_rng(5),
        )
        for g in (0, 1):
            p = expit(u + s * z)
            rows = [i for i, gi in enumerate(group) if gi == g]
            log_f = sum(_bb_logpmf(y[i], n[i], p * kappa, (1 - p) * kappa) for i in rows)
            dens = np.exp(log_f - log_f.max()) * stats.norm.pdf(z)
            dens /= np.trapezoid(dens, z)
            mean = np.trapezoid(z * dens, z)
            sd = math.sqrt(np.trapezoid((z - mean) ** 2 * dens, z))
            assert abs(draws[:, g].mean() - mean) < 4 * sd / math.sqrt(size), (u, s, g)
            assert abs(draws[:, g].std() - sd) < 4 * sd / math.sqrt(2 * size), (u, s, g)
