"""Statistical studies of the package's methods (run by the scripts in ``scripts/``, not by the
default test suite).

* :mod:`bayes_anlo.studies.coverage` - coverage and width of pooled-rate intervals (PFT-DL,
  logit-REML, GLMM, Bayesian logit-normal and beta-binomial) over small meta-analyses;
* :mod:`bayes_anlo.studies.sbc_runs` - simulation-based calibration set-ups for every model family
  (machinery in :mod:`bayes_anlo.checks.calibration`).
"""
