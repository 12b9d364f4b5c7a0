"""Cox proportional-hazards hazard ratios between arms, as R ``coxph(Surv(time, event) ~ arm)``.

The arm is a factor with a reference level (default: the first arm in sorted order, which is
what R's ``factor()`` makes the reference for these labels); each other arm gets an indicator, and
``exp(coef)`` is its hazard ratio against the reference. Ties are handled by Efron's
approximation (R's default). Intervals are Wald intervals ``exp(coef +- z se)`` as
``summary.coxph`` prints them; the likelihood-ratio test compares with the model without arm.

Engine: :class:`lifelines.CoxPHFitter` (Efron ties), fitted to a convergence precision of 1e-12.
It was chosen over a hand-written Newton-Raphson because it matches R ``coxph`` (R 4.2.2, survival
3.5-3) at rtol 1e-6 for coefficients, standard errors, interval limits and the log partial
likelihood on six trials of R's survival package and on simulated two-group data sets with heavy
ties (``tests/survival/test_cox_vs_r.py``, references made by
``tests/reference/make_reference_survival_inputs.R``); statsmodels is not a dependency.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class CoxResult:
    """Hazard ratios of each arm against the reference arm from a Cox model.

    Attributes
    ----------
    reference : str
        The reference arm.
    arms : list of str
        The compared arms (one row of the arrays each).
    coef, se, hazard_ratio, ci_low, ci_high, p_value : numpy arrays
        Log hazard ratio, its standard error, ``exp(coef)``, the Wald interval and Wald p-value.
    loglik_null, loglik : float
        Log partial likelihood without and with the arm terms.
    lr_chisq, lr_df, lr_p : likelihood-ratio test of any difference between arms.
    n, n_event : patients and events.
    level : confidence level of the intervals.
    """

    reference: str
    arms: list[str]
    coef: np.ndarray
    se: np.ndarray
    hazard_ratio: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    loglik_null: float
    loglik: float
    lr_chisq: float
    lr_df: int
    lr_p: float
    n: int
    n_event: int
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "comparison": [f"{a} vs {self.reference}" for a in self.arms],
                "coef": self.coef,
                "se": self.se,
                "hazard_ratio": self.hazard_ratio,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
            }
        )


def arm_levels(group, reference: str | None = None) -> list[str]:
    """Arms in model order: the reference first, then the others sorted (the default reference
    is the first arm in sorted order, never the order of the rows)."""
    levels = sorted({str(g) for g in group})
    if reference is None:
        return levels
    if reference not in levels:
        raise ValueError(
            f"reference arm {reference!r} is not in the data (arms: {', '.join(levels)})"
        )
    return [reference] + [a for a in levels if a != reference]


def cox_ph(time, event, group, *, reference: str | None = None, level: float = 0.95) -> CoxResult:
    """Cox model of ``time, event`` on the arm factor ``group`` (see the module docstring).

    Raises ``ValueError`` with fewer than two arms or no events. An arm without events has an
    infinite hazard ratio: its row is NaN (R warns that the fit did not converge there).
    """
    from lifelines import CoxPHFitter  # imported here: slow to import, only needed for a Cox fit

    time = np.asarray(time, dtype=float).ravel()
    event = np.asarray(event).astype(int).ravel()
    group = np.asarray([str(g) for g in np.asarray(group).ravel()])
    if not time.size == event.size == group.size:
        raise ValueError("time, event and group must have the same length")
    levels = arm_levels(group, reference)
    if len(levels) < 2:
        raise ValueError("a Cox comparison needs at least two arms")
    if event.sum() == 0:
        raise ValueError("no events: the hazard ratio is not estimable")
    ref, others = levels[0], levels[1:]
    frame = pd.DataFrame({"time": time, "event": event})
    names = [f"x{i}" for i in range(len(others))]
    for name, arm in zip(names, others, strict=True):
        frame[name] = (group == arm).astype(float)
    estimable = [frame.loc[group == a, "event"].sum() > 0 for a in others]
    z = stats.norm.ppf(1 - (1 - level) / 2)
    coef = np.full(len(others), np.nan)
    se = np.full(len(others), np.nan)
    used = [n for n, ok in zip(names, estimable, strict=True) if ok]
    loglik_null = _null_loglik(time, event)
    loglik = loglik_null
    if used:
        fitter = CoxPHFitter(baseline_estimation_method="breslow")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(
                frame[["time", "event", *used]], "time", "event", fit_options={"precision": 1e-12}
            )
        for i, name in enumerate(names):
            if name in used:
                coef[i] = float(fitter.params_[name])
                se[i] = float(fitter.standard_errors_[name])
        loglik = float(fitter.log_likelihood_)
    lr = max(2 * (loglik - loglik_null), 0.0)
    df = len(used)
    with np.errstate(invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(coef / se))
    return CoxResult(
        ref,
        others,
        coef,
        se,
        np.exp(coef),
        np.exp(coef - z * se),
        np.exp(coef + z * se),
        p,
        loglik_null,
        loglik,
        lr,
        df,
        float(stats.chi2.sf(lr, df)) if df else np.nan,
        int(time.size),
        int(event.sum()),
        level,
    )


def _null_loglik(time: np.ndarray, event: np.ndarray) -> float:
    """Efron log partial likelihood with no covariates: with all risk scores 1, ``d`` tied events
    among ``n`` at risk contribute ``-sum_{j<d} log(n - j)``."""
    times, inverse = np.unique(time, return_inverse=True)
    d = np.bincount(inverse, weights=event, minlength=times.size)
    n_at = np.cumsum(np.bincount(inverse, minlength=times.size)[::-1])[::-1].astype(float)
    total = 0.0
    for n, dk in zip(n_at, d, strict=True):
        if dk > 0:
            total -= np.log(n - np.arange(int(dk))).sum()
    return float(total)
