# Reference values for the metafor-grade frequentist companion (issue 14): every tau^2 estimator with
# z and Hartung-Knapp tests, Q-profile intervals, influence diagnostics, Baujat coordinates,
# regression tests for small-study effects, trim-and-fill, cumulative meta-analysis and
# meta-regression, all made with R metafor (3.8-1 when these values were made).
#
# Run from the repository root:
#     Rscript tests/reference/make_reference_meta_extended.R
# Writes tests/reference/meta_extended.json (with the R and metafor versions). The tests read only
# that file; R is not needed to run them.
#
# Data sets (single proportions x_i / n_i):
#   * pritz1997      metafor's dat.pritz1997 (14 studies; Pritz 1997 via metafor)
#   * niel2007_ctrl  dat.nielweise2007, control arms ci/n2i (18 studies; Stijnen et al. 2010,
#                    Stat Med 29:3046, the example of metafor's test_analysis_example_stijnen2010.r)
#   * niel2007_trt   the same studies' treatment arms ai/n1i (several 0-event studies)
#   * miller1978     Miller (1978, Am Stat 32:138) 3/11, 6/17, 10/21, 1/6 (metafor's
#                    test_analysis_example_miller1978.r)
#   * sarcoma_orr    bundled dataset sarcoma_literature_abstracts, outcome ORR (8 anlotinib arms)
#   * large_het      the 18-study heterogeneous set of make_reference_proportions.R
#
# Conventions: escalc defaults (PFT without correction; PLO adds 1/2 only to 0 or n events);
# predict() back-transformed with transf.ipft.hm (targs ni = the n of the studies in the model) or
# transf.ilogit; confint() type "QP"; influence(); baujat() coordinates; regtest(model = "rma",
# predictor = "sei" | "ninv"); trimfill() defaults; cumul() refitted on the first j studies so that
# PFT back-transforms use those studies' n; rma(mods = ~ x) for meta-regression.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
if (!dir.exists(out_dir)) stop("run from the repository root (tests/reference not found)")

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  script = "tests/reference/make_reference_meta_extended.R",
  made = format(Sys.Date())
)
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(unname(x))

sarcoma <- read.csv(file.path("bayes_anlo", "data", "bundled", "sarcoma_literature_abstracts.csv"),
                    stringsAsFactors = FALSE)
sarcoma <- sarcoma[sarcoma$outcome == "ORR", ]
ped <- dat.nielweise2007

datasets <- list(
  pritz1997 = data.frame(study = paste0("P", dat.pritz1997$study), events = dat.pritz1997$xi,
                         n = dat.pritz1997$ni),
  niel2007_ctrl = data.frame(study = ped$author, events = ped$ci, n = ped$n2i, year = ped$year),
  niel2007_trt = data.frame(study = ped$author, events = ped$ai, n = ped$n1i, year = ped$year),
  miller1978 = data.frame(study = paste0("M", 1:4), events = c(3, 6, 10, 1), n = c(11, 17, 21, 6)),
  sarcoma_orr = data.frame(study = sarcoma$study, events = sarcoma$events, n = sarcoma$n,
                           year = sarcoma$year, subgroup = sarcoma$subgroup),
  large_het = data.frame(
    study = sprintf("L%02d", 1:18),
    events = c(3, 12, 5, 30, 9, 13, 41, 20, 11, 27, 4, 25, 18, 33, 50, 7, 40, 8),
    n = c(25, 40, 33, 60, 18, 52, 75, 29, 44, 90, 21, 38, 66, 47, 120, 31, 55, 27))
)

measures <- c(pft = "PFT", logit = "PLO")
methods <- c("DL", "REML", "PM", "ML", "SJ", "HS", "EB")
tests <- c("z", "knha")

transf_of <- function(measure) if (measure == "PFT") transf.ipft.hm else transf.ilogit
targs_of <- function(measure, ni) if (measure == "PFT") list(ni = ni) else NULL

pooled <- function(res, measure, ni) {
  tp <- predict(res)
  bt <- predict(res, transf = transf_of(measure), targs = targs_of(measure, ni))
  ci <- confint(res)$random
  list(
    tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
    q = num(res$QE), q_p = num(res$QEp), theta = num(res$beta), theta_se = num(res$se),
    z = num(res$zval), p_value = num(res$pval), theta_ci_low = num(res$ci.lb),
    theta_ci_high = num(res$ci.ub), theta_pi_low = num(tp$pi.lb), theta_pi_high = num(tp$pi.ub),
    estimate = num(bt$pred), ci_low = num(bt$ci.lb), ci_high = num(bt$ci.ub),
    pi_low = num(bt$pi.lb), pi_high = num(bt$pi.ub),
    tau2_low = num(ci["tau^2", "ci.lb"]), tau2_high = num(ci["tau^2", "ci.ub"]),
    i2_low = num(ci["I^2(%)", "ci.lb"]), i2_high = num(ci["I^2(%)", "ci.ub"]),
    h2_low = num(ci["H^2", "ci.lb"]), h2_high = num(ci["H^2", "ci.ub"])
  )
}

pooling <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  for (tr in names(measures)) {
    measure <- measures[[tr]]
    for (m in methods) {
      for (tt in tests) {
        key <- paste(name, tr, m, tt, sep = "/")
        res <- tryCatch(rma(measure = measure, xi = d$events, ni = d$n, method = m, test = tt),
                        error = function(e) e)
        pooling[[key]] <- if (inherits(res, "error")) list(error = conditionMessage(res)) else
          pooled(res, measure, d$n)
      }
    }
  }
}

# Diagnostics on PLO-REML (z and knha) and PFT-DL (z) for every data set with k >= 5
diag_models <- list(c("logit", "REML", "z"), c("logit", "REML", "knha"), c("pft", "DL", "z"),
                    c("logit", "PM", "z"))
diagnostics <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  if (nrow(d) < 5) next
  for (spec in diag_models) {
    measure <- measures[[spec[1]]]
    res <- rma(measure = measure, xi = d$events, ni = d$n, method = spec[2], test = spec[3])
    inf <- influence(res)$inf
    pdf(NULL)
    bj <- baujat(res)
    dev.off()
    eg <- regtest(res)
    ss <- regtest(res, predictor = "ninv", ni = d$n)
    entry <- list(
      influence = list(rstudent = num(inf$rstudent), dffits = num(inf$dffits),
                       cook_d = num(inf$cook.d), cov_r = num(inf$cov.r),
                       tau2_del = num(inf$tau2.del), q_del = num(inf$QE.del), hat = num(inf$hat),
                       weight = num(inf$weight), influential = inf$inf == "*"),
      baujat = list(x = num(bj$x), y = num(bj$y)),
      egger = list(statistic = num(eg$zval), p_value = num(eg$pval),
                   df = if (is.null(eg$dfs)) NA_real_ else num(eg$dfs),
                   slope = num(eg$fit$beta[2]), slope_se = num(eg$fit$se[2]),
                   limit = num(eg$est), limit_ci_low = num(eg$ci.lb), limit_ci_high = num(eg$ci.ub)),
      sample_size = list(statistic = num(ss$zval), p_value = num(ss$pval),
                         slope = num(ss$fit$beta[2]), slope_se = num(ss$fit$se[2]))
    )
    if (spec[3] == "z") {
      tf <- trimfill(res)
      ni_tf <- c(d$n, if (tf$k0 > 0) d$n[order(if (tf$side == "right") -res$yi else res$yi)][
        (res$k - tf$k0 + 1):res$k] else NULL)
      bt <- predict(tf, transf = transf_of(measure), targs = targs_of(measure, ni_tf))
      entry$trimfill <- list(k0 = tf$k0, se_k0 = num(tf$se.k0), side = tf$side,
                             theta = num(tf$beta), theta_se = num(tf$se),
                             theta_ci_low = num(tf$ci.lb), theta_ci_high = num(tf$ci.ub),
                             tau2 = num(tf$tau2), yi = num(tf$yi), filled = tf$fill,
                             estimate = num(bt$pred), ci_low = num(bt$ci.lb),
                             ci_high = num(bt$ci.ub))
    }
    diagnostics[[paste(name, paste(spec, collapse = "-"), sep = "/")]] <- entry
  }
}

# Cumulative meta-analysis ordered by year (data sets with a year column)
cumulative <- list()
for (name in c("niel2007_ctrl", "sarcoma_orr")) {
  d <- datasets[[name]]
  for (spec in list(c("logit", "REML", "z"), c("pft", "DL", "z"), c("logit", "REML", "knha"))) {
    measure <- measures[[spec[1]]]
    res <- rma(measure = measure, xi = d$events, ni = d$n, method = spec[2], test = spec[3])
    cu <- cumul(res, order = d$year)
    ord <- order(d$year)
    est <- ci_low <- ci_high <- numeric(nrow(d))
    for (j in seq_len(nrow(d))) {
      take <- ord[seq_len(j)]
      rj <- rma(measure = measure, xi = d$events[take], ni = d$n[take], method = spec[2],
                test = spec[3])
      bt <- predict(rj, transf = transf_of(measure), targs = targs_of(measure, d$n[take]))
      est[j] <- bt$pred; ci_low[j] <- bt$ci.lb; ci_high[j] <- bt$ci.ub
    }
    cumulative[[paste(name, paste(spec, collapse = "-"), sep = "/")]] <- list(
      added = d$study[ord], theta = num(cu$estimate), theta_se = num(cu$se),
      theta_ci_low = num(cu$ci.lb), theta_ci_high = num(cu$ci.ub), p_value = num(cu$pval),
      tau2 = num(cu$tau2), i2 = num(cu$I2), q = num(cu$Q), q_p = num(cu$Qp),
      estimate = est, ci_low = ci_low, ci_high = ci_high)
  }
}

# Meta-regression
regression_cases <- list(
  list(data = "niel2007_ctrl", moderator = "year"),
  list(data = "niel2007_trt", moderator = "year"),
  list(data = "sarcoma_orr", moderator = "subgroup"),
  list(data = "sarcoma_orr", moderator = "year"),
  list(data = "pritz1997", moderator = "n"),
  list(data = "large_het", moderator = "n")
)
regression <- list()
for (case in regression_cases) {
  d <- datasets[[case$data]]
  x <- d[[case$moderator]]
  for (spec in list(c("logit", "REML", "z"), c("logit", "REML", "knha"), c("logit", "DL", "z"),
                    c("pft", "PM", "z"), c("logit", "ML", "knha"))) {
    measure <- measures[[spec[1]]]
    res <- if (is.numeric(x)) {
      rma(measure = measure, xi = d$events, ni = d$n, mods = ~ x, method = spec[2], test = spec[3])
    } else {
      rma(measure = measure, xi = d$events, ni = d$n, mods = ~ factor(x), method = spec[2],
          test = spec[3])
    }
    regression[[paste(case$data, case$moderator, paste(spec, collapse = "-"), sep = "/")]] <- list(
      beta = num(res$beta), se = num(res$se), statistic = num(res$zval), p_value = num(res$pval),
      ci_low = num(res$ci.lb), ci_high = num(res$ci.ub), qm = num(res$QM), qm_p = num(res$QMp),
      tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), r2 = num(res$R2),
      qe = num(res$QE), qe_p = num(res$QEp))
  }
}

data_out <- lapply(datasets, function(d) as.list(d))
out <- list(versions = versions, datasets = data_out, pooling = pooling,
            diagnostics = diagnostics, cumulative = cumulative, regression = regression)
path <- file.path(out_dir, "meta_extended.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = TRUE), path)
cat("wrote", path, "\n")
