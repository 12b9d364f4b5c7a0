"""The refit loop of the prior-sensitivity section: alternatives that change only priors the fit
does not use are skipped, and each row carries the convergence verdict of its own fit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import xarray as xr

from bayes_anlo.models import PiecewiseExponential
from bayes_anlo.pipeline.binary import prior_sensitivity


def _tree(value: float) -> xr.DataTree:
    shape = (2, 5)
    post = xr.Dataset(
        {
            "log_hazard": (("chain", "draw", "interval"), np.full((*shape, 2), value)),
            "study_sd": (("chain", "draw"), np.full(shape, 0.3)),
            "median": (("chain", "draw"), np.full(shape, 6.0 + value)),
        }
    )
    return xr.DataTree.from_dict({"posterior": post})


class _Recorder:
    """A model front that records its fits and returns a fixed tree."""

    fitted: list = []

    def __init__(self, priors):
        self.model = PiecewiseExponential(priors=priors)
        self.priors = priors

    def prior_terms(self, posterior):
        return self.model.prior_terms(posterior)

    def fit(self, data, random_seed):
        _Recorder.fitted.append(self.priors)
        return _tree(-2.0 if self.priors.log_hazard.sigma == 3.0 else -2.5)


def test_alternatives_that_change_unused_priors_are_not_refitted():
    _Recorder.fitted = []
    model = PiecewiseExponential()  # not smoothed: smooth_sd is not a prior of this fit
    verdicts = iter([True, False, True])
    table = prior_sensitivity(
        model,
        None,
        _tree(-2.5),
        1,
        _Recorder,
        lambda label, tree: {"prior": label, "median": float(tree["posterior"]["median"].mean())},
        gate=lambda tree: SimpleNamespace(
            converged=(ok := next(verdicts)), reasons=() if ok else ("R-hat 1.2",)
        ),
    )
    names = [label.split(" ")[0] for label in table["prior"]]
    assert names == ["default", "wide_hazard", "high_heterogeneity"]  # not tight_smoothing
    assert len(_Recorder.fitted) == 2
    assert list(table["converged"]) == ["yes", "NO: R-hat 1.2", "yes"]
    assert table["median"].tolist() == [3.5, 4.0, 3.5]


def test_exact_refits_pass_the_gate_without_diagnostics_and_nuts_refits_are_checked(monkeypatch):
    from bayes_anlo.checks import diagnostics
    from bayes_anlo.pipeline.binary import sensitivity_gate

    checked = []
    monkeypatch.setattr(
        diagnostics,
        "convergence",
        lambda tree: checked.append(tree) or SimpleNamespace(converged=False, reasons=("x",)),
    )
    exact, nuts = _tree(-2.0), _tree(-2.0)
    exact.attrs["method"], nuts.attrs["method"] = "exact", "nuts"
    verdict = sensitivity_gate(exact)
    assert verdict.converged and verdict.reasons == () and checked == []
    assert not sensitivity_gate(nuts).converged and checked == [nuts]
