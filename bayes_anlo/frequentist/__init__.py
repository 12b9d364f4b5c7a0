"""bayes_anlo.frequentist"""
