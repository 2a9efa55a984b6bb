"""Measured dedup quality: a generator of listings with ground truth, and a quality report."""
