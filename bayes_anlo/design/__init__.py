"""Designing the next trial from historical evidence: MAP priors, effective sample size, decision
rules and their operating characteristics (beta mixtures throughout, computed exactly by
conjugacy).

::

    from bayes_anlo.design import map_prior, ess_all, OneSampleRule, Criterion, oc_one_sample
    prior = map_prior(data, "logit_normal", random_seed=1)    # MapPrior
    prior.mixture, ess_all(prior.mixture), prior.robust(0.2)
    rule = OneSampleRule([Criterion(threshold=0.2, probability=0.9)])
    oc_one_sample(rule, prior.robust(0.2), n=40, rates=[0.1, 0.2, 0.3])
"""

from bayes_anlo.design.decisions import (
    Criterion,
    OneSampleRule,
    TwoSampleRule,
    boundary_two_sample,
    difference_for_power,
    oc_one_sample,
    oc_two_sample,
    pos_one_sample,
    pos_two_sample,
    prob_difference,
)
from bayes_anlo.design.ess import ess, ess_all, ess_elir, ess_moment, ess_morita
from bayes_anlo.design.map_prior import MapPrior, map_from_tree, map_prior
from bayes_anlo.design.mixture_fit import approximation_accuracy, auto_fit, fit_beta_mixture
from bayes_anlo.design.mixtures import BetaMixture, robustify

__all__ = [
    "BetaMixture",
    "Criterion",
    "MapPrior",
    "OneSampleRule",
    "TwoSampleRule",
    "approximation_accuracy",
    "auto_fit",
    "boundary_two_sample",
    "difference_for_power",
    "ess",
    "ess_all",
    "ess_elir",
    "ess_moment",
    "ess_morita",
    "fit_beta_mixture",
    "map_from_tree",
    "map_prior",
    "oc_one_sample",
    "oc_two_sample",
    "pos_one_sample",
    "pos_two_sample",
    "prob_difference",
    "robustify",
]
