"""Synthetic data with planted segments: customer tables and order logs (the embedded default).
"""
