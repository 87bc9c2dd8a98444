"""One module per tab: its components, then its events, wired in the same function.
"""
