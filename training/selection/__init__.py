"""The one scikit-learn pipeline, k chosen from evidence, the algorithms compared, stability.
"""
