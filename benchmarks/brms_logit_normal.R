# Fits the logit-normal random-effects model to the same data in brms (Stan), cold (compile +
# sample) and warm (sample again reusing the compiled model), and prints the wall times as JSON.
# Usage: Rscript benchmarks/brms_logit_normal.R data.csv [chains draws warmup]
suppressPackageStartupMessages(library(brms))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
chains <- if (length(args) > 1) as.integer(args[2]) else 4
iter_draws <- if (length(args) > 2) as.integer(args[3]) else 1000
warmup <- if (length(args) > 3) as.integer(args[4]) else 1000
prior <- c(set_prior("normal(0, 1.5)", class = "Intercept"), set_prior("normal(0, 1)", class = "sd"))
t0 <- Sys.time()
fit <- brm(events | trials(n) ~ 1 + (1 | study), data = d, family = binomial(), prior = prior,
           chains = chains, iter = warmup + iter_draws, warmup = warmup, cores = 2, seed = 1,
           refresh = 0, silent = 2)
cold <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
t1 <- Sys.time()
fit2 <- update(fit, newdata = d, recompile = FALSE, seed = 2, refresh = 0, silent = 2)
warm <- as.numeric(difftime(Sys.time(), t1, units = "secs"))
s <- fixef(fit)
cat(sprintf('{"cold_seconds": %.3f, "warm_seconds": %.3f, "intercept": %.5f, "brms": "%s"}\n',
            cold, warm, s[1, 1], as.character(packageVersion("brms"))))
