"""bayes_anlo.checks"""
