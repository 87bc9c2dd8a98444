"""What `fit` trains on: reading and cleaning a customer table, order logs turned into customers,
column roles and the feature schema of the cleaned table.
"""
