"""bayes_anlo.data"""
