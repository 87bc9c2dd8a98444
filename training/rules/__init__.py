"""Segments as rules people can use elsewhere: a surrogate tree in original units and its SQL.
"""
