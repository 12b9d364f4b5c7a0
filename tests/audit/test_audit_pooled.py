"""`bayes-anlo audit pooled`: which pooling method reproduces a printed pooled proportion.

Recomputed candidates are compared with R metafor 3.8-1 (tests/reference/meta_extended.json,
made by tests/reference/make_reference_meta_extended.R). Printings are built from metafor's own
output on dat.pritz1997 (so the method that made them is known), and the seed meta-analysis
(Li et al. 2025) prints 8.8% (6.2-11.7%) for ORR, which the 8 abstracts bundled in
sarcoma_literature_abstracts cannot reproduce (the paper pooled 16 studies).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.audit.pooled import audit_pooled, parse_pooled_printing
from bayes_anlo.cli import app
from bayes_anlo.errors import InputError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "meta_extended.json").read_text()
)
SEED = "sarcoma_literature_abstracts"
SEED_PRINTED = "8.8% (6.2-11.7%)"


@pytest.fixture(scope="module")
def seed_audit():
    return audit_pooled(SEED, SEED_PRINTED, outcome="ORR")


def test_seed_orr_is_not_reproduced_and_the_nearest_distance_is_metafors(seed_audit):
    assert not seed_audit.reproduced and seed_audit.k == 8
    rows = seed_audit.candidates.set_index("method")
    assert len(rows) == 2 * (1 + 7 * 2) + 1  # PFT/PLO x (FE + 7 estimators x z/HK) + GLMM
    # every random-effects candidate equals metafor's predict() (percent)
    for transform, measure in (("pft", "PFT"), ("logit", "PLO")):
        for method in ("DL", "REML", "PM", "ML", "SJ", "HS", "EB"):
            for test, suffix in (("z", ""), ("knha", "-HK")):
                ref = REF["pooling"][f"sarcoma_orr/{transform}/{method}/{test}"]
                row = rows.loc[f"{measure}-{method}{suffix}"]
                assert row["estimate"] == pytest.approx(100 * ref["estimate"], rel=1e-6)
                assert row["ci_low"] == pytest.approx(100 * ref["ci_low"], rel=1e-6)
                # distance: how far the farthest number lies outside the printed rounding
                expected = max(
                    max(0.0, 100 * ref["estimate"] - 8.85, 8.75 - 100 * ref["estimate"]),
                    max(0.0, 100 * ref["ci_low"] - 6.25, 6.15 - 100 * ref["ci_low"]),
                    max(0.0, 100 * ref["ci_high"] - 11.75, 11.65 - 100 * ref["ci_high"]),
                )
                assert row["distance"] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    nearest = seed_audit.nearest
    assert nearest["distance"] == seed_audit.candidates["distance"].min() > 2
    assert f"nearest: {nearest['method']}" in seed_audit.verdict


def _pritz_csv(tmp_path) -> Path:
    d = REF["datasets"]["pritz1997"]
    path = tmp_path / "pritz.csv"
    pd.DataFrame(
        {"study": d["study"], "outcome": "ORR", "events": d["events"], "n": d["n"]}
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("key", "method", "decimals"),
    [
        ("pritz1997/logit/REML/knha", "PLO-REML-HK", 1),
        ("pritz1997/pft/DL/z", "PFT-DL", 2),
        ("pritz1997/logit/SJ/z", "PLO-SJ", 1),
    ],
)
def test_a_printing_made_by_metafor_is_attributed_to_its_method(tmp_path, key, method, decimals):
    ref = REF["pooling"][key]
    e, lo, hi = (f"{100 * ref[k]:.{decimals}f}" for k in ("estimate", "ci_low", "ci_high"))
    result = audit_pooled(_pritz_csv(tmp_path), f"{e}% ({lo}-{hi}%)")
    assert result.reproduced and method in result.reproducing
    assert result.candidates.iloc[0]["reproduces"]
    # a method whose interval rounds differently is not among them
    for other in result.candidates.to_dict("records"):
        shown = tuple(f"{other[k]:.{decimals}f}" for k in ("estimate", "ci_low", "ci_high"))
        assert other["reproduces"] == (shown == (e, lo, hi))


@pytest.mark.parametrize(
    ("text", "unit", "values"),
    [
        ("8.8% (6.2-11.7%)", "%", (8.8, 6.2, 11.7)),
        ("8.8 (95% CI 6.2–11.7)", "%", (8.8, 6.2, 11.7)),
        ("0.088 (0.062, 0.117)", "proportion", (0.088, 0.062, 0.117)),
        ("12% [9 to 16%]", "%", (12, 9, 16)),
    ],
)
def test_printings_are_read(text, unit, values):
    p = parse_pooled_printing(text)
    assert p.unit == unit
    assert (p.estimate.value, p.ci_low.value, p.ci_high.value) == values


@pytest.mark.parametrize("text", ["8.8%", "8.8% (9.0-11.7%)", "80% (60-120%)", "abc"])
def test_unreadable_printings_are_input_errors(text):
    with pytest.raises(InputError):
        parse_pooled_printing(text)


def test_cli_exit_status_json_and_errors(tmp_path):
    runner = CliRunner()
    seed = runner.invoke(
        app, ["audit", "pooled", SEED, "--printed", SEED_PRINTED, "--outcome", "ORR", "--json"]
    )
    assert seed.exit_code == 1, seed.output
    out = json.loads(seed.output)
    assert out["reproduced"] is False and out["printed"] == SEED_PRINTED
    ref = REF["pooling"]["pritz1997/logit/REML/knha"]
    printed = "{:.1f}% ({:.1f}-{:.1f}%)".format(
        *(100 * ref[k] for k in ("estimate", "ci_low", "ci_high"))
    )
    ok = runner.invoke(app, ["audit", "pooled", str(_pritz_csv(tmp_path)), "--printed", printed])
    assert ok.exit_code == 0 and "PLO-REML-HK" in ok.output and "reproduced" in ok.output
    bad = runner.invoke(app, ["audit", "pooled", SEED, "--printed", "8.8%", "--outcome", "ORR"])
    assert bad.exit_code == 2 and bad.output.startswith("error: command line: --printed:")
