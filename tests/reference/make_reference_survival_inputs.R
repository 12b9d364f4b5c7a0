# Reference values for survival from every input (issue 18) and the log-rank precision fix
# (issue 12.8), made with R's survival package.
#
#   cd tests/reference && Rscript make_reference_survival_inputs.R
#
# Writes to tests/reference/survival_inputs/:
#   VERSIONS.txt
#   trials.csv           two-arm trials from R's survival package (not shipped as fixtures
#                        elsewhere): trial, time (months = days / 30.4375), event, arm
#   trials_cox.csv       coxph(Surv(time, event) ~ arm, ties = "efron" / "breslow") per trial:
#                        reference arm (first factor level = alphabetical), coef, se, HR and its
#                        95% CI, log partial likelihoods, Wald, score and likelihood-ratio tests
#   trials_median.csv    survfit(Surv(time, event) ~ arm) medians with their 95% CI (conf.type "log")
#   trials_logrank.csv   survdiff(Surv(time, event) ~ arm) chi-square
#   logrank_sim_data.csv.gz simulated data sets (set.seed fixed): dataset, time, event, group
#   logrank_sim.csv      survdiff chi-square and df per data set for rho = 0, 0.5, 1
#   cox_sim.csv          coxph Efron/Breslow on the two-group simulated data sets
suppressPackageStartupMessages(library(survival))
out <- "survival_inputs"
dir.create(out, showWarnings = FALSE)
cat("R", R.version.string, "survival", as.character(packageVersion("survival")), "\n",
    file = file.path(out, "VERSIONS.txt"))
days_per_month <- 365.25 / 12

trials <- list()
colon2 <- colon[colon$rx %in% c("Obs", "Lev+5FU"), ]
for (et in 1:2) {
  d <- colon2[colon2$etype == et, ]
  trials[[c("colon_recurrence", "colon_death")[et]]] <-
    data.frame(time = d$time / days_per_month, event = d$status, arm = as.character(d$rx))
}
trials$lung_sex <- data.frame(time = lung$time / days_per_month, event = lung$status - 1,
                              arm = ifelse(lung$sex == 1, "male", "female"))
trials$veteran_trt <- data.frame(time = veteran$time / days_per_month, event = veteran$status,
                                 arm = ifelse(veteran$trt == 1, "standard", "test"))
p <- pbc[!is.na(pbc$trt), ]
trials$pbc_trt <- data.frame(time = p$time / days_per_month, event = as.integer(p$status == 2),
                             arm = ifelse(p$trt == 1, "D-penicillamine", "placebo"))
trials$gbsg_hormon <- data.frame(time = gbsg$rfstime / days_per_month, event = gbsg$status,
                                 arm = ifelse(gbsg$hormon == 1, "tamoxifen", "no tamoxifen"))

cox_row <- function(name, d, ties) {
  d$arm <- factor(d$arm)  # levels sorted: the first is the reference
  fit <- coxph(Surv(time, event) ~ arm, data = d, ties = ties)
  s <- summary(fit)
  data.frame(name = name, ties = ties, reference = levels(d$arm)[1], arm = levels(d$arm)[2],
             coef = unname(coef(fit))[1], se = sqrt(diag(vcov(fit)))[1], hr = exp(unname(coef(fit))[1]),
             hr_low = s$conf.int[1, 3], hr_high = s$conf.int[1, 4],
             loglik_null = fit$loglik[1], loglik = fit$loglik[2],
             wald = unname(fit$wald.test), score = unname(fit$score),
             lr = unname(s$logtest["test"]), n = fit$n, nevent = fit$nevent)
}

rows <- list(); meds <- list(); lr <- list(); tdata <- list()
for (name in names(trials)) {
  d <- trials[[name]]
  tdata[[name]] <- data.frame(trial = name, d)
  for (ties in c("efron", "breslow")) rows[[length(rows) + 1]] <- cox_row(name, d, ties)
  fit <- survfit(Surv(time, event) ~ arm, data = d)
  q <- quantile(fit, 0.5)
  arms <- sub("^arm=", "", rownames(q$quantile))
  meds[[name]] <- data.frame(name = name, arm = arms, median = unname(q$quantile[, 1]),
                             lower = unname(q$lower[, 1]), upper = unname(q$upper[, 1]))
  sd <- survdiff(Surv(time, event) ~ arm, data = d)
  lr[[name]] <- data.frame(name = name, chisq = sd$chisq, df = length(sd$n) - 1)
}
write.csv(do.call(rbind, tdata), file.path(out, "trials.csv"), row.names = FALSE)
write.csv(do.call(rbind, rows), file.path(out, "trials_cox.csv"), row.names = FALSE)
write.csv(do.call(rbind, meds), file.path(out, "trials_median.csv"), row.names = FALSE)
write.csv(do.call(rbind, lr), file.path(out, "trials_logrank.csv"), row.names = FALSE)

# Simulated data sets for the log-rank test: 2 to 4 groups, n up to 1000, tied times (rounded),
# censoring from light to heavy. The first data set is R's colon data (death, 3 arms).
set.seed(20261130)
sim <- list(); chis <- list(); cox <- list()
sim[[1]] <- data.frame(dataset = 1, time = colon$time[colon$etype == 2],
                       event = colon$status[colon$etype == 2], group = as.character(colon$rx[colon$etype == 2]))
for (i in 2:120) {
  n <- if (i %% 4 == 0) 1000 else sample(20:1000, 1)
  k <- sample(2:4, 1, prob = c(0.5, 0.3, 0.2))
  grp <- sample(LETTERS[1:k], n, replace = TRUE)
  hr <- exp(rnorm(k, 0, 0.3))[match(grp, LETTERS)]
  t_event <- rweibull(n, shape = runif(1, 0.7, 1.6), scale = 12 / hr)
  t_cens <- runif(n, 1, runif(1, 10, 60))
  digits <- sample(c(0, 1, 2), 1)
  time <- pmax(round(pmin(t_event, t_cens), digits), 10^(-digits))
  sim[[i]] <- data.frame(dataset = i, time = time, event = as.integer(t_event <= t_cens), group = grp)
}
for (i in seq_along(sim)) {
  d <- sim[[i]]
  for (rho in c(0, 0.5, 1)) {
    sd <- survdiff(Surv(time, event) ~ group, data = d, rho = rho)
    chis[[length(chis) + 1]] <- data.frame(dataset = i, rho = rho, chisq = sd$chisq,
                                           df = sum(sd$exp > 0) - 1, n = nrow(d))
  }
  if (length(unique(d$group)) == 2) {
    for (ties in c("efron", "breslow")) {
      r <- cox_row(paste0("sim", i), data.frame(time = d$time, event = d$event, arm = d$group), ties)
      cox[[length(cox) + 1]] <- cbind(dataset = i, r)
    }
  }
}
write.csv(do.call(rbind, sim), gzfile(file.path(out, "logrank_sim_data.csv.gz")), row.names = FALSE)
write.csv(do.call(rbind, chis), file.path(out, "logrank_sim.csv"), row.names = FALSE)
write.csv(do.call(rbind, cox), file.path(out, "cox_sim.csv"), row.names = FALSE)
