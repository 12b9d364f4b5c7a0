# The frequentist fits of `bayes-anlo rates FILE --outcome OUTCOME` done by R metafor, for the
# whole-process wall-time comparison in benchmarks/run.py:
#   Rscript benchmarks/metafor_rates.R examples/my_studies.csv ORR
# PFT and PLO with DL and REML (rma), and the logit GLMM (rma.glmm, measure "PLO"); prints one
# line per method (estimate back-transformed to a proportion, with its 95% CI).
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
d <- d[d$outcome == args[2], ]
fits <- list()
for (measure in c("PFT", "PLO")) {
  es <- escalc(measure = measure, xi = d$events, ni = d$n)
  for (method in c("DL", "REML")) {
    fits[[paste(measure, method, sep = "-")]] <- rma(yi, vi, data = es, method = method)
  }
}
glmm <- rma.glmm(measure = "PLO", xi = d$events, ni = d$n)
back <- function(name, fit) {
  if (startsWith(name, "PFT")) {
    transf.ipft.hm(c(fit$b[1], fit$ci.lb, fit$ci.ub), targs = list(ni = d$n))
  } else {
    transf.ilogit(c(fit$b[1], fit$ci.lb, fit$ci.ub))
  }
}
for (name in names(fits)) {
  cat(sprintf("%-9s %.4f (%.4f-%.4f)\n", name, back(name, fits[[name]])[1],
              back(name, fits[[name]])[2], back(name, fits[[name]])[3]))
}
est <- transf.ilogit(c(glmm$b[1], glmm$ci.lb, glmm$ci.ub))
cat(sprintf("%-9s %.4f (%.4f-%.4f)\n", "GLMM-ML", est[1], est[2], est[3]))
