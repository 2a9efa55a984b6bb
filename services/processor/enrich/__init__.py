"""Enrichment of valid records: grade, geocode, image check; each value records its provenance.

The enrich stage (``stages.enrich``) runs these parts: offline where a record is read, online
after linking.
"""
