"""bayes_anlo.audit"""
