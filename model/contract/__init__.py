"""The bundle contract: typed records, the manifest (and readers of older formats), the evidence
and aggregates, the feature schema and its constraints, errors, and reading/writing a bundle.
"""
