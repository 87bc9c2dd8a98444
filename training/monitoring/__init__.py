"""The build side of drift monitoring: the reference a bundle stores, and the report files.
"""
