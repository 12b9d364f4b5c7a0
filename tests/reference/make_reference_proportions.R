# Reference values for bayes_anlo.frequentist (proportions), made with R metafor, lme4 and stats.
#
# Run from the repository root:
#     Rscript tests/reference/make_reference_proportions.R
# Writes tests/reference/proportions_{datasets,pooling,glmm,subgroups,leave1out,intervals,two_group}.json.
# Every file records the R, metafor and lme4 versions that made it. The tests read only these files;
# R is not needed to run them.
#
# Conventions reproduced (all metafor defaults unless stated):
#   * PFT: escalc(measure = "PFT") (no continuity correction); back-transform with transf.ipft.hm and
#     the harmonic mean of the n of the studies in the model (targs = list(ni = n)).
#   * PLO: escalc(measure = "PLO"), add = 1/2, to = "only0"; back-transform with transf.ilogit.
#   * rma(method = "DL" | "REML" | "FE"), test = "z"; prediction interval from predict().
#   * GLMM: rma.glmm(measure = "PLO") = lme4::glmer(cbind(x, n - x) ~ 1 + (1 | study), nAGQ = 7), ML;
#     recorded with lme4's default tolerances and tightly converged, plus the nAGQ = 7 deviance
#     function (devFunOnly) at fixed (theta, beta) points.
#   * Subgroup difference test as meta::metaprop prints it for random effects (separate tau^2 per
#     subgroup): the subgroup estimates and SEs pooled with rma(method = "FE"); its QE is Q between.
#   * Mixed-effects model: rma(yi, vi, mods = ~ factor(subgroup), method = ...) QM test.
#   * leave1out() on the transformed scale; back-transformed values from a refit without study i,
#     PFT using the harmonic mean of the remaining studies' n.

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
if (!dir.exists(out_dir)) stop("run from the repository root (tests/reference not found)")

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  jsonlite = as.character(packageVersion("jsonlite")),
  script = "tests/reference/make_reference_proportions.R",
  made = format(Sys.Date())
)

write_ref <- function(x, name) {
  x <- c(list(versions = versions), x)
  path <- file.path(out_dir, paste0("proportions_", name, ".json"))
  writeLines(toJSON(x, auto_unbox = TRUE, digits = I(17), na = "null", pretty = TRUE), path)
  cat("wrote", path, "\n")
}

num <- function(x) as.numeric(unname(x))
# predict() gives no prediction interval for an equal-effects (FE) model: record NA there.
pinum <- function(x) if (is.null(x)) NA_real_ else num(x)

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------
sarcoma_path <- c(file.path("..", "shared", "data", "sarcoma_literature_extraction.csv"),
                  "/work/shared/data/sarcoma_literature_extraction.csv")
sarcoma_path <- sarcoma_path[file.exists(sarcoma_path)][1]
if (is.na(sarcoma_path)) stop("sarcoma_literature_extraction.csv not found beside the repository")
lit <- read.csv(sarcoma_path, stringsAsFactors = FALSE)
dcr <- lit[lit$outcome == "DCR" & !is.na(lit$events), ]
dcr <- dcr[!duplicated(dcr$study_id), ]  # first DCR row per study: the anlotinib arm / overall
stopifnot(nrow(dcr) == 6)

datasets <- list(
  zero_event = data.frame(
    study = paste0("Z", 1:6), events = c(0, 4, 9, 15, 3, 18), n = c(14, 22, 25, 30, 19, 40),
    subgroup = c("a", "a", "b", "b", "a", "b")),
  all_event = data.frame(
    study = paste0("A", 1:6), events = c(12, 15, 9, 33, 20, 41), n = c(12, 25, 16, 40, 31, 45),
    subgroup = c("x", "y", "y", "x", "y", "x")),
  zero_and_all = data.frame(
    study = paste0("B", 1:7), events = c(0, 2, 7, 12, 20, 5, 9), n = c(10, 16, 20, 24, 20, 30, 18),
    subgroup = c("p", "p", "q", "q", "r", "p", "q")),
  small_k3 = data.frame(
    study = paste0("S", 1:3), events = c(4, 9, 15), n = c(20, 30, 35),
    subgroup = c("u", "u", "v")),
  large_het = data.frame(
    study = sprintf("L%02d", 1:18),
    events = c(3, 12, 5, 30, 9, 13, 41, 20, 11, 27, 4, 25, 18, 33, 50, 7, 40, 8),
    n = c(25, 40, 33, 60, 18, 52, 75, 29, 44, 90, 21, 38, 66, 47, 120, 31, 55, 27),
    subgroup = c("A", "B", "A", "B", "C", "A", "B", "C", "A", "B", "A", "C", "A", "C", "B", "A", "C", "B")),
  homogeneous = data.frame(
    study = paste0("H", 1:5), events = c(10, 11, 12, 10, 13), n = c(40, 42, 45, 41, 47),
    subgroup = c("g1", "g1", "g2", "g2", "g2")),
  sarcoma_dcr = data.frame(
    study = dcr$study_id, events = dcr$events, n = dcr$n, subgroup = dcr$disease,
    source = dcr$source_url)
)

measures <- c(pft = "PFT", logit = "PLO")
methods <- c("DL", "REML", "FE")

back <- function(measure, x, ni) {
  if (measure == "PFT") transf.ipft.hm(x, targs = list(ni = ni)) else transf.ilogit(x)
}

fit_summary <- function(res, measure, ni) {
  tp <- predict(res)
  bt <- predict(res, transf = if (measure == "PFT") transf.ipft.hm else transf.ilogit,
                targs = if (measure == "PFT") list(ni = ni) else NULL)
  list(
    k = res$k, tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
    q = num(res$QE), q_df = res$k - res$p, q_p = num(res$QEp),
    theta = num(res$beta), theta_se = num(res$se), z = num(res$zval), p_value = num(res$pval),
    theta_ci_low = num(res$ci.lb), theta_ci_high = num(res$ci.ub),
    theta_pi_low = pinum(tp$pi.lb), theta_pi_high = pinum(tp$pi.ub),
    estimate = num(bt$pred), ci_low = num(bt$ci.lb), ci_high = num(bt$ci.ub),
    pi_low = pinum(bt$pi.lb), pi_high = pinum(bt$pi.ub),
    weights = num(weights(res)),
    harmonic_n = if (measure == "PFT") 1 / mean(1 / ni) else NULL
  )
}

# ---------------------------------------------------------------------------------------------
# Pooling (rma), GLMM (rma.glmm), subgroups, leave-one-out
# ---------------------------------------------------------------------------------------------
pooling <- list(); glmm <- list(); subgroups <- list(); loo <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  pooling[[name]] <- list()
  for (tr in names(measures)) {
    measure <- measures[[tr]]
    es <- escalc(measure = measure, xi = d$events, ni = d$n)
    pooling[[name]][[tr]] <- list(yi = num(es$yi), vi = num(es$vi))
    for (m in methods) {
      res <- rma(measure = measure, xi = d$events, ni = d$n, method = m)
      pooling[[name]][[tr]][[m]] <- fit_summary(res, measure, d$n)
    }
  }

  # rma.glmm as users run it (lme4 defaults: PIRLS tolerance 1e-7, bobyqa then Nelder-Mead), and
  # a tightly converged fit of the same likelihood (PIRLS to 1e-11, bobyqa to rhoend 1e-12). With a
  # 0-event or all-event study the default PIRLS tolerance moves lme4's deviance by ~1e-6.
  glmm_summary <- function(g) {
    gp <- predict(g)
    gb <- predict(g, transf = transf.ilogit)
    list(
      k = g$k, tau2 = num(g$tau2), i2 = num(g$I2), h2 = num(g$H2),
      q_wald = num(g$QE.Wld), q_wald_p = num(g$QEp.Wld), q_lrt = num(g$QE.LRT), q_lrt_p = num(g$QEp.LRT),
      q_df = g$QE.df, theta = num(g$beta), theta_se = num(g$se),
      theta_ci_low = num(g$ci.lb), theta_ci_high = num(g$ci.ub),
      theta_pi_low = num(gp$pi.lb), theta_pi_high = num(gp$pi.ub),
      estimate = num(gb$pred), ci_low = num(gb$ci.lb), ci_high = num(gb$ci.ub),
      pi_low = num(gb$pi.lb), pi_high = num(gb$pi.ub),
      loglik = num(logLik(g))
    )
  }
  tight <- list(glmerCtrl = list(tolPwrss = 1e-11, optimizer = "bobyqa",
                                 optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
  study <- factor(seq_len(nrow(d)))
  xi_ <- d$events; mi_ <- d$n - d$events
  devfun <- glmer(cbind(xi_, mi_) ~ 1 + (1 | study), family = binomial, nAGQ = 7,
                  devFunOnly = TRUE, control = glmerControl(tolPwrss = 1e-11))
  tight_warnings <- character(0)
  tight_fit <- withCallingHandlers(
    rma.glmm(measure = "PLO", xi = d$events, ni = d$n, control = tight),
    warning = function(w) {
      tight_warnings <<- c(tight_warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  points <- list(c(0, -0.5), c(0.3, -1), c(0.8, 0.2), c(1.5, -0.3), c(2.5, 1))
  glmm[[name]] <- list(
    default = glmm_summary(rma.glmm(measure = "PLO", xi = d$events, ni = d$n)),
    tight = glmm_summary(tight_fit),
    tight_warnings = tight_warnings,
    deviance_points = list(theta = sapply(points, `[`, 1), beta = sapply(points, `[`, 2),
                           deviance = sapply(points, devfun)),
    any_zero_or_all = any(d$events == 0 | d$events == d$n)
  )

  # Subgroups: per subgroup RE fit (own tau^2), Q between by FE pooling, and mixed-effects QM.
  levels_ <- unique(d$subgroup)
  subgroups[[name]] <- list(levels = levels_)
  for (tr in names(measures)) {
    measure <- measures[[tr]]
    subgroups[[name]][[tr]] <- list()
    for (m in c("DL", "REML")) {
      per <- list(); b <- c(); s <- c()
      for (lv in levels_) {
        sel <- d$subgroup == lv
        r <- rma(measure = measure, xi = d$events[sel], ni = d$n[sel], method = m)
        per[[lv]] <- fit_summary(r, measure, d$n[sel])
        b <- c(b, num(r$beta)); s <- c(s, num(r$se))
      }
      between <- rma(yi = b, sei = s, method = "FE")
      es <- escalc(measure = measure, xi = d$events, ni = d$n)
      mr <- rma(yi = es$yi, vi = es$vi, mods = ~ factor(d$subgroup), method = m)
      subgroups[[name]][[tr]][[m]] <- list(
        per_subgroup = per,
        q_between = num(between$QE), q_between_df = length(levels_) - 1, q_between_p = num(between$QEp),
        moderator = list(
          qm = num(mr$QM), qm_df = num(mr$QMdf[1]), qm_p = num(mr$QMp),
          tau2 = num(mr$tau2), i2 = num(mr$I2), h2 = num(mr$H2), r2 = num(mr$R2),
          qe = num(mr$QE), qe_df = mr$k - mr$p, qe_p = num(mr$QEp)
        )
      )
    }
  }

  loo[[name]] <- list()
  for (tr in names(measures)) {
    measure <- measures[[tr]]
    loo[[name]][[tr]] <- list()
    for (m in c("DL", "REML", "FE")) {
      res <- rma(measure = measure, xi = d$events, ni = d$n, method = m)
      l1 <- leave1out(res)
      bt_est <- bt_lo <- bt_hi <- pi_lo <- pi_hi <- numeric(nrow(d))
      for (i in seq_len(nrow(d))) {
        ri <- rma(measure = measure, xi = d$events[-i], ni = d$n[-i], method = m)
        pr <- predict(ri, transf = if (measure == "PFT") transf.ipft.hm else transf.ilogit,
                      targs = if (measure == "PFT") list(ni = d$n[-i]) else NULL)
        bt_est[i] <- pr$pred; bt_lo[i] <- pr$ci.lb; bt_hi[i] <- pr$ci.ub
        pi_lo[i] <- pinum(pr$pi.lb); pi_hi[i] <- pinum(pr$pi.ub)
      }
      loo[[name]][[tr]][[m]] <- list(
        theta = num(l1$estimate), theta_se = num(l1$se), z = num(l1$zval), p_value = num(l1$pval),
        theta_ci_low = num(l1$ci.lb), theta_ci_high = num(l1$ci.ub),
        q = num(l1$Q), q_p = num(l1$Qp),
        tau2 = if (is.null(l1$tau2)) rep(0, nrow(d)) else num(l1$tau2),  # FE: no tau2 column
        i2 = num(l1$I2), h2 = num(l1$H2),
        estimate = bt_est, ci_low = bt_lo, ci_high = bt_hi, pi_low = pi_lo, pi_high = pi_hi
      )
    }
  }
}

# Constructed datasets carry no source column; the sarcoma rows keep their source_url.
write_ref(list(datasets = lapply(datasets, as.list),
               sarcoma_source = "shared/data/sarcoma_literature_extraction.csv: first DCR row with events per study_id; subgroup = disease"),
          "datasets")
write_ref(list(results = pooling), "pooling")
write_ref(list(results = glmm), "glmm")
write_ref(list(results = subgroups), "subgroups")
write_ref(list(results = loo), "leave1out")

# ---------------------------------------------------------------------------------------------
# Single-proportion intervals
# ---------------------------------------------------------------------------------------------
cases <- data.frame(
  events = c(0, 1, 5, 10, 3, 27, 46, 1, 0, 12, 99, 17, 33),
  n = c(10, 10, 10, 10, 17, 40, 49, 1, 1, 100, 100, 28, 42)
)
intervals <- list(cases = as.list(cases))
for (level in c(0.95, 0.90)) {
  key <- sprintf("level_%02d", round(100 * level))
  z <- qnorm(1 - (1 - level) / 2)
  cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = level)$conf.int, cases$events, cases$n))
  wi <- t(mapply(function(x, n) suppressWarnings(prop.test(x, n, conf.level = level, correct = FALSE))$conf.int,
                 cases$events, cases$n))
  tt <- t(mapply(function(x, n) {
    if (x == 0 || x == n || n < 2) return(c(NA, NA))
    t.test(c(rep(1, x), rep(0, n - x)), conf.level = level)$conf.int
  }, cases$events, cases$n))
  p <- cases$events / cases$n
  wald_half <- z * sqrt(p * (1 - p) / cases$n)
  nt <- cases$n + z^2
  pt_ <- (cases$events + z^2 / 2) / nt
  ac_half <- z * sqrt(pt_ * (1 - pt_) / nt)
  a <- (1 - level) / 2
  jl <- ifelse(cases$events == 0, 0, qbeta(a, cases$events + 0.5, cases$n - cases$events + 0.5))
  ju <- ifelse(cases$events == cases$n, 1, qbeta(1 - a, cases$events + 0.5, cases$n - cases$events + 0.5))
  intervals[[key]] <- list(
    level = level,
    clopper_pearson = list(low = cp[, 1], high = cp[, 2]),
    wilson = list(low = wi[, 1], high = wi[, 2]),
    spss_t = list(low = tt[, 1], high = tt[, 2]),
    wald = list(low = pmax(0, p - wald_half), high = pmin(1, p + wald_half)),
    agresti_coull = list(low = pmax(0, pt_ - ac_half), high = pmin(1, pt_ + ac_half)),
    jeffreys = list(low = jl, high = ju)
  )
}
write_ref(list(results = intervals), "intervals")

# ---------------------------------------------------------------------------------------------
# Two-group comparisons
# ---------------------------------------------------------------------------------------------
tables <- data.frame(
  e1 = c(17, 27, 0, 8, 10, 3, 0, 46, 4, 1),
  n1 = c(28, 40, 10, 49, 10, 20, 10, 49, 28, 5),
  e2 = c(3, 1, 5, 4, 0, 3, 0, 33, 3, 4),
  n2 = c(11, 40, 12, 42, 10, 20, 12, 42, 11, 6)
)
two <- list(cases = as.list(tables), rows = list())
for (i in seq_len(nrow(tables))) {
  e1 <- tables$e1[i]; n1 <- tables$n1[i]; e2 <- tables$e2[i]; n2 <- tables$n2[i]
  m <- matrix(c(e1, e2, n1 - e1, n2 - e2), nrow = 2)
  f2 <- fisher.test(m)$p.value
  fl <- fisher.test(m, alternative = "less")$p.value
  fg <- fisher.test(m, alternative = "greater")$p.value
  chi <- function(correct) {
    r <- suppressWarnings(chisq.test(m, correct = correct))
    c(num(r$statistic), num(r$p.value))
  }
  c0 <- chi(FALSE); c1 <- chi(TRUE)
  pt <- tryCatch(suppressWarnings(prop.test(c(e1, e2), c(n1, n2), correct = FALSE)),
                 error = function(e) NULL)
  ptci <- if (is.null(pt) || is.na(pt$statistic)) c(NA, NA) else num(pt$conf.int)
  # Newcombe (1998) method 10, from the Wilson limits that prop.test(correct = FALSE) prints.
  wl <- function(x, n) num(suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int)
  w1 <- wl(e1, n1); w2 <- wl(e2, n2); p1 <- e1 / n1; p2 <- e2 / n2
  nl <- (p1 - p2) - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2)
  nu <- (p1 - p2) + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)
  two$rows[[i]] <- list(
    fisher_p = f2, fisher_p_less = fl, fisher_p_greater = fg,
    chisq = c0[1], chisq_p = c0[2], chisq_yates = c1[1], chisq_yates_p = c1[2],
    rd_wald_low = ptci[1], rd_wald_high = ptci[2], rd_newcombe_low = nl, rd_newcombe_high = nu
  )
}
write_ref(list(results = two), "two_group")
