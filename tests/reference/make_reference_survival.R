# Reference values for bayes_anlo.frequentist.kaplan_meier, made with R's survival package.
#
#   cd tests/reference && Rscript make_reference_survival.R
#
# Writes to tests/reference/survival/:
#   data_<name>.csv        the dataset (time, event, group)
#   km_<name>.csv          survfit() table for every conf.type (time, n.risk, n.event, n.censor,
#                          surv, std.err, lower, upper)
#   median_<name>.csv      quantile(survfit, 0.25/0.5/0.75) with limits, for every conf.type
#   at_<name>.csv          summary(survfit, times = ...) for conf.type = "log"
#   logrank_<name>.csv     survdiff() by group, rho = 0 and rho = 1 (chisq, df, observed, expected,
#                          diagonal of var)
# Datasets: `lung` and `veteran` from the survival package; simulated datasets with heavy ties and
# censoring (set.seed fixed); small hand-made sets that hit the median conventions (a flat stretch
# exactly at 0.5, a curve ending at 0.5, a curve falling to 0).
suppressPackageStartupMessages(library(survival))
out <- "survival"
dir.create(out, showWarnings = FALSE)
cat("R", R.version.string, "survival", as.character(packageVersion("survival")), "\n",
    file = file.path(out, "VERSIONS.txt"))

datasets <- list()
datasets$lung <- data.frame(time = lung$time, event = lung$status - 1, group = ifelse(lung$sex == 1, "male", "female"))
datasets$veteran <- data.frame(time = veteran$time, event = veteran$status, group = paste0("trt", veteran$trt))

set.seed(20261122)
n <- 180
grp <- sample(c("A", "B", "C"), n, replace = TRUE)
rate <- c(A = 0.08, B = 0.11, C = 0.15)[grp]
t_event <- rweibull(n, shape = 1.3, scale = 1 / rate)
t_cens <- runif(n, 4, 30)
datasets$simties <- data.frame(time = pmax(1, round(pmin(t_event, t_cens))),   # whole months: many ties
                               event = as.integer(t_event <= t_cens), group = grp)

set.seed(7)
n <- 60
t_event <- rexp(n, 0.06)
t_cens <- rexp(n, 0.05)                     # heavy censoring
datasets$heavycens <- data.frame(time = round(pmin(t_event, t_cens), 1),
                                 event = as.integer(t_event <= t_cens),
                                 group = rep(c("x", "y"), length.out = n))

# S = 0.5 exactly between t = 5 and t = 8: median = (5 + 8) / 2
datasets$flathalf <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                                event = c(1, 1, 1, 1, 1, 0, 0, 1, 0, 0),
                                group = rep(c("a", "b"), 5))
# the curve ends at exactly 0.5 (last follow-up at 12)
datasets$endhalf <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 9, 11, 12),
                               event = c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0),
                               group = rep(c("a", "b"), 5))
# the curve falls to zero, with ties at the end
datasets$tozero <- data.frame(time = c(2, 3, 3, 5, 6, 6, 8, 9, 9, 9),
                              event = c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1),
                              group = rep(c("a", "b"), 5))

conf_types <- c("log", "log-log", "plain", "logit", "arcsin")
at_times <- list(lung = c(90, 180, 365, 500, 730, 2000), veteran = c(30, 90, 180, 365, 1000),
                 simties = c(3, 6, 12, 18, 24, 40), heavycens = c(3, 6, 12, 24, 100),
                 flathalf = c(0.5, 5, 7.5, 10, 11), endhalf = c(2, 5, 12, 13), tozero = c(1, 5, 9, 10))

for (name in names(datasets)) {
  d <- datasets[[name]]
  write.csv(d, file.path(out, paste0("data_", name, ".csv")), row.names = FALSE)
  km <- NULL
  med <- NULL
  for (ct in conf_types) {
    fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = ct)
    km <- rbind(km, data.frame(conf_type = ct, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
                               n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
                               lower = fit$lower, upper = fit$upper))
    q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
    med <- rbind(med, data.frame(conf_type = ct, p = c(0.25, 0.5, 0.75), estimate = as.numeric(q$quantile),
                                 lower = as.numeric(q$lower), upper = as.numeric(q$upper)))
  }
  write.csv(km, file.path(out, paste0("km_", name, ".csv")), row.names = FALSE)
  write.csv(med, file.path(out, paste0("median_", name, ".csv")), row.names = FALSE)
  fit <- survfit(Surv(time, event) ~ 1, data = d)
  s <- summary(fit, times = at_times[[name]], extend = FALSE)
  write.csv(data.frame(time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err,
                       lower = s$lower, upper = s$upper),
            file.path(out, paste0("at_", name, ".csv")), row.names = FALSE)
  lr <- NULL
  for (rho in c(0, 1)) {
    sd <- survdiff(Surv(time, event) ~ group, data = d, rho = rho)
    lr <- rbind(lr, data.frame(rho = rho, group = sub("group=", "", names(sd$n)), n = as.numeric(sd$n),
                               observed = as.numeric(sd$obs), expected = as.numeric(sd$exp),
                               var_diag = diag(sd$var), chisq = sd$chisq,
                               df = length(sd$n) - 1, p_value = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)))
  }
  write.csv(lr, file.path(out, paste0("logrank_", name, ".csv")), row.names = FALSE)
}
