"""An order/invoice log → one row per customer: column recognition, dates, cleaning and the report.
"""
