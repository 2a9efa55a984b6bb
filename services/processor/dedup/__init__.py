"""Cross-file, cross-source duplicate detection: blocking keys, pair scoring, the known index."""
