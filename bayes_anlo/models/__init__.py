"""bayes_anlo.models"""
