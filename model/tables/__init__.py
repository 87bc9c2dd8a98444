"""Customer tables as files: strict reading of uploads (bytes, encoding, width), chunks, column
codes, safe CSV export and batch scoring.
"""
