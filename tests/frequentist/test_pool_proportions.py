"""pool_proportions against R metafor (tests/reference/proportions_pooling.json), plus checks
that do not need R: the REML optimum, the PFT inverse, and the result containers.

Reference made by ``Rscript tests/reference/make_reference_proportions.R``:
``rma(measure = "PFT" | "PLO", xi, ni, method = "DL" | "REML" | "FE")`` and ``predict()`` with
``transf.ipft.hm`` (``targs = list(ni = n)``) or ``transf.ilogit``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from bayes_anlo.data.binary import load_binary
from bayes_anlo.frequentist import PooledResult, pool_proportions, pool_summary
from bayes_anlo.frequentist.pooling import escalc, ipft, pft

REF = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-6


def _load(name: str) -> dict:
    return json.loads((REF / f"proportions_{name}.json").read_text())


DATASETS = _load("datasets")["datasets"]
POOLING = _load("pooling")["results"]
SCALARS = [
    "tau2",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_p",
    "theta",
    "theta_se",
    "z",
    "p_value",
    "theta_ci_low",
    "theta_ci_high",
    "estimate",
    "ci_low",
    "ci_high",
]
PI_KEYS = ["theta_pi_low", "theta_pi_high", "pi_low", "pi_high"]


def _num(value):
    return np.nan if value is None else value


def test_reference_records_versions_and_required_datasets():
    meta = _load("pooling")["versions"]
    assert meta["R"].startswith("R version") and meta["metafor"]
    sizes = {name: len(d["n"]) for name, d in DATASETS.items()}
    assert sizes["small_k3"] == 3 and sizes["large_het"] >= 15
    ev = {name: (np.array(d["events"]), np.array(d["n"])) for name, d in DATASETS.items()}
    assert np.any(ev["zero_event"][0] == 0)
    assert np.any(ev["all_event"][0] == ev["all_event"][1])
    x, n = ev["zero_and_all"]
    assert np.any(x == 0) and np.any(x == n)
    assert len(DATASETS["sarcoma_dcr"]["study"]) == 6


@pytest.mark.parametrize("transform", ["pft", "logit"])
@pytest.mark.parametrize("method", ["DL", "REML", "FE"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_matches_metafor(name, transform, method):
    d = DATASETS[name]
    ref = POOLING[name][transform]
    res = pool_proportions(d["events"], d["n"], transform=transform, method=method)
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=1e-12)
    r = ref[method]
    assert res.k == r["k"]
    assert res.q_df == r["q_df"]
    for key in SCALARS:
        np.testing.assert_allclose(
            getattr(res, key), _num(r[key]), rtol=RTOL, atol=1e-12, err_msg=key
        )
    np.testing.assert_allclose(res.weights, r["weights"], rtol=RTOL)
    if method == "FE":  # metafor gives no PI for an equal-effects model; ours is the CI
        assert r["pi_low"] is None
        assert (res.pi_low, res.pi_high) == (res.ci_low, res.ci_high)
    else:
        for key in PI_KEYS:
            np.testing.assert_allclose(
                getattr(res, key), r[key], rtol=RTOL, atol=1e-12, err_msg=key
            )
    assert res.method == f"{'PFT' if transform == 'pft' else 'PLO'}-{method}"
    if transform == "pft":
        assert res.harmonic_n == pytest.approx(r["harmonic_n"], rel=1e-12)


@pytest.mark.parametrize("name", ["zero_and_all", "large_het", "sarcoma_dcr"])
@pytest.mark.parametrize("transform", ["pft", "logit"])
def test_reml_is_the_restricted_likelihood_maximum(name, transform):
    """Fisher scoring stops at a change <= 1e-5; the REML optimum found by scipy agrees to that."""
    d = DATASETS[name]
    yi, vi = escalc(np.array(d["events"]), np.array(d["n"]), transform)

    def neg_reml(tau2):
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        return 0.5 * (np.sum(np.log(vi + tau2)) + math.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2))

    opt = optimize.minimize_scalar(
        neg_reml, bounds=(0, 50), method="bounded", options={"xatol": 1e-12}
    )
    res = pool_proportions(d["events"], d["n"], transform=transform, method="REML")
    assert res.tau2 == pytest.approx(opt.x, abs=2e-5)


def test_dl_by_hand():
    x = np.array([3, 12, 5, 30, 9])
    n = np.array([25, 40, 33, 60, 18])
    y = np.log(x / (n - x))
    v = 1 / x + 1 / (n - x)
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2)
    tau2 = max(0.0, (q - 4) / (w.sum() - np.sum(w**2) / w.sum()))
    ws = 1 / (v + tau2)
    theta = np.sum(ws * y) / ws.sum()
    res = pool_proportions(x, n, transform="logit", method="DL")
    assert res.q == pytest.approx(q, rel=1e-12)
    assert res.tau2 == pytest.approx(tau2, rel=1e-12)
    assert res.theta == pytest.approx(theta, rel=1e-12)
    assert res.estimate == pytest.approx(1 / (1 + math.exp(-theta)), rel=1e-12)


@pytest.mark.parametrize("n", [1, 5, 17, 200])
def test_ipft_inverts_pft(n):
    x = np.arange(n + 1)
    np.testing.assert_allclose(ipft(pft(x, n), n), x / n, atol=1e-12)
    assert ipft(pft(n, n) + 0.01, n) == 1.0
    assert ipft(pft(0, n) - 0.01, n) == 0.0


def test_binarydata_input_equals_arrays_and_keeps_labels():
    d = DATASETS["sarcoma_dcr"]
    frame = pd.DataFrame(
        {
            "study": d["study"],
            "outcome": "DCR",
            "events": d["events"],
            "n": d["n"],
            "subgroup": d["subgroup"],
        }
    )
    data = load_binary(frame)
    a = pool_proportions(data, transform="logit", method="REML")
    b = pool_proportions(d["events"], d["n"], transform="logit", method="REML")
    assert a.estimate == b.estimate and a.tau2 == b.tau2
    assert a.labels == tuple(data.labels)
    assert a.labels[0].startswith("S02_LiT2024")
    assert b.labels[0] == "study 1"
    assert a.total_n == sum(d["n"]) and a.total_events == sum(d["events"])


def test_result_containers():
    d = DATASETS["large_het"]
    res = pool_proportions(d["events"], d["n"], transform="pft", method="REML", labels=d["study"])
    assert isinstance(res, PooledResult)
    frame = res.to_frame()
    assert frame.shape[0] == 1
    for col in (
        "method",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
        "q",
        "k",
    ):
        assert col in frame.columns
    assert frame.loc[0, "estimate"] == res.estimate
    studies = res.studies_frame()
    assert list(studies["label"]) == d["study"]
    assert studies["weight"].sum() == pytest.approx(100.0)
    out = res.to_dict()
    for key in ("method", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
        assert key in out
    json.dumps(out, allow_nan=False)
    with pytest.raises(AttributeError):
        res.estimate = 0.5  # frozen
    assert res.tau == pytest.approx(math.sqrt(res.tau2))
    assert res.ci_low < res.estimate < res.ci_high
    assert res.pi_low <= res.ci_low and res.pi_high >= res.ci_high


def test_level_changes_interval_width():
    d = DATASETS["sarcoma_dcr"]
    r95 = pool_proportions(d["events"], d["n"], transform="logit", method="DL")
    r80 = pool_proportions(d["events"], d["n"], transform="logit", method="DL", level=0.8)
    assert r80.estimate == r95.estimate
    assert r95.ci_low < r80.ci_low < r80.ci_high < r95.ci_high


def test_single_study_is_its_own_estimate():
    res = pool_proportions([7], [20], transform="logit", method="REML")
    assert res.tau2 == 0 and res.q == 0 and res.q_p == 1
    assert res.estimate == pytest.approx(7 / 20)


def test_pool_summary_rows():
    d = DATASETS["sarcoma_dcr"]
    table = pool_summary(d["events"], d["n"])
    assert list(table["method"]) == ["PFT-DL", "PFT-REML", "PLO-DL", "PLO-REML", "GLMM-ML"]
    only_zero = pool_summary([0, 0, 0], [10, 12, 9])
    assert "GLMM-ML" not in set(only_zero["method"])
