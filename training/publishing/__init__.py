"""From a fitted model to what others read: the model card, its plots, and the push to the Hub.
"""
