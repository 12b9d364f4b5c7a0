"""bayes_anlo.report"""
