"""What each segment means: profiles in real units, names and traits as checked claims, offers
(offers.yaml), value, and the aggregates the app shows.
"""
