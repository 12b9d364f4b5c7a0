"""bayes_anlo.exact"""
