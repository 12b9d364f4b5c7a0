"""EXNEX with several studies per subtype (``by``): each subtype's studies share its rate, so the
subtype enters with its pooled count.

* exact on the study rows is exactly the exact fit on the pooled rows (same draws);
* NUTS on the graph with one binomial per study (no pooling in it) against the exact engine on
  pooled counts: two computations of the same posterior, within 4 combined MCSE;
* the model is available to specs with ``by`` (and the bundled EXNEX spec loads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayes_anlo.models.contract import Model
from bayes_anlo.models.exnex import Exnex, exchangeability_table
from tests.models._data import FAST_NUTS, make_binary

REPO = Path(__file__).resolve().parents[2]
#: Made-up studies of three subtypes (2, 3 and 1 studies).
SUBTYPE = ["A", "A", "B", "B", "B", "C"]
EVENTS = np.array([3, 5, 10, 7, 12, 1])
N = np.array([20, 25, 30, 28, 33, 15])


def rows():
    return make_binary(EVENTS, N, subtype=SUBTYPE)


def pooled_rows():
    events = [EVENTS[:2].sum(), EVENTS[2:5].sum(), EVENTS[5]]
    n = [N[:2].sum(), N[2:5].sum(), N[5]]
    return make_binary(events, n)


def _mcse_of_mean(draws: np.ndarray) -> float:
    import xarray as xr
    from arviz_stats import mcse

    return float(mcse(xr.Dataset({"x": (("chain", "draw"), draws)}), method="mean")["x"])


def test_exact_on_study_rows_is_the_exact_fit_on_pooled_counts():
    grouped = Exnex(by="subtype", method="exact", sampler=FAST_NUTS).fit(rows(), random_seed=5)
    pooled = Exnex(method="exact", sampler=FAST_NUTS).fit(pooled_rows(), random_seed=5)
    post, ref = grouped["posterior"], pooled["posterior"]
    assert list(post["subgroup"].values) == ["A", "B", "C"]
    np.testing.assert_array_equal(post["subgroup_rate"].values, ref["study_rate"].values)
    np.testing.assert_array_equal(post["prob_exchangeable"].values, ref["prob_exchangeable"].values)
    # each study carries its subtype's rate; log-likelihood and replication are per study
    np.testing.assert_array_equal(
        post["study_rate"].values, post["subgroup_rate"].values[..., [0, 0, 1, 1, 1, 2]]
    )
    assert grouped["log_likelihood"]["events"].shape[-1] == len(EVENTS)
    assert grouped["posterior_predictive"]["events"].shape[-1] == len(EVENTS)
    assert list(exchangeability_table(grouped)["unit"]) == ["A", "B", "C"]


def test_nuts_on_study_binomials_matches_exact_on_pooled_counts():
    nuts = Exnex(by="subtype", method="nuts", sampler=FAST_NUTS).fit(rows(), random_seed=6)
    exact = Exnex(by="subtype", method="exact", sampler=FAST_NUTS).fit(rows(), random_seed=7)
    assert nuts.attrs["method"] == "nuts"
    for name in ("subgroup_rate", "prob_exchangeable"):
        for j in range(3):
            x = nuts["posterior"][name].values[..., j]
            y = exact["posterior"][name].values[..., j]
            tol = 4 * np.hypot(_mcse_of_mean(x), y.std() / np.sqrt(y.size))
            assert abs(x.mean() - y.mean()) < tol, (name, j)


def test_replication_moments_with_by_are_the_subtype_rates():
    tree = Exnex(by="subtype", method="exact", sampler=FAST_NUTS).fit(rows(), random_seed=8)
    mean, var = Exnex.replication_moments(tree)
    np.testing.assert_array_equal(mean, tree["posterior"]["study_rate"].values)
    assert np.all(var == 0.0)
    rep = tree["posterior_predictive"]["events"].values
    expected = (N * mean).mean(axis=(0, 1))
    sd = np.sqrt((N * mean * (1 - mean)).mean(axis=(0, 1)) + (N * mean).var(axis=(0, 1)))
    assert np.all(np.abs(rep.mean(axis=(0, 1)) - expected) < 4 * sd / np.sqrt(rep[..., 0].size))


def test_a_spec_takes_exnex_with_by(tmp_path):
    from bayes_anlo.models.sampling import SamplerSettings
    from bayes_anlo.spec import load_spec

    (tmp_path / "d.csv").write_text(
        "study,outcome,events,n,subtype\n"
        + "".join(
            f"S{i},ORR,{y},{n},{g}\n"
            for i, (y, n, g) in enumerate(zip(EVENTS, N, SUBTYPE, strict=True))
        )
    )
    (tmp_path / "spec.toml").write_text(
        '[analysis]\nname = "t"\ntitle = "t"\n\n[[analyses]]\nid = "x"\nfile = "d.csv"\n'
        'outcome = "ORR"\nmodel = "exnex"\nby = "subtype"\n'
        "options = { weights = [0.3, 0.3, 0.4] }\n"
    )
    entry = load_spec(tmp_path / "spec.toml").analyses[0]
    model = Model.from_spec(entry, SamplerSettings())
    assert isinstance(model, Exnex) and model.by == "subtype"
    assert model.weights == (0.3, 0.3, 0.4)


def test_the_bundled_exnex_spec_loads():
    from bayes_anlo.spec import load_spec

    spec = load_spec(REPO / "models" / "sarcoma_exnex.toml")
    models = {entry.id: (entry.model, entry.by) for entry in spec.analyses}
    assert models["sts_orr_subtypes_exnex"] == ("exnex", None)
    assert models["orr_by_tissue_exnex"] == ("exnex", "subgroup")


def test_by_needs_the_column():
    from bayes_anlo.errors import InputError

    with pytest.raises(InputError, match="no column 'tissue'"):
        Exnex(by="tissue").prepare(rows())


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('by = "tissue"\n', "no column 'tissue'"),
        (
            'method = "exact"\noptions = { weights = [0.3, 0.3, 0.4] }\n'
            'priors = { tau_2 = { dist = "halfcauchy", beta = 1 } }\n',
            "Normal mu and HalfNormal tau",
        ),
    ],
)
def test_spec_problems_are_input_errors(tmp_path, lines, message):
    from bayes_anlo.errors import InputError
    from bayes_anlo.spec import load_spec

    (tmp_path / "d.csv").write_text("study,outcome,events,n\nA,ORR,1,10\nB,ORR,3,12\n")
    (tmp_path / "spec.toml").write_text(
        '[analysis]\nname = "t"\ntitle = "t"\n\n[[analyses]]\nid = "x"\nfile = "d.csv"\n'
        'outcome = "ORR"\nmodel = "exnex"\n' + lines
    )
    with pytest.raises(InputError, match=message):
        load_spec(tmp_path / "spec.toml")
