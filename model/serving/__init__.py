"""The serving core: the compiled arrays (serving.npz) → segment, margin, runner-up, why, map
point; offers checked against the customer; RFM labels with stored edges.
"""
