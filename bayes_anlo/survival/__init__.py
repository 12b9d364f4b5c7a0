"""bayes_anlo.survival"""
