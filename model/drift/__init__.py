"""Has the customer base changed since training? PSI report, its text, upload checks, segment moves.
"""
