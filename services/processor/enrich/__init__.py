"""Enrichment of valid records: grade, geocode, image check; each value records its provenance."""
