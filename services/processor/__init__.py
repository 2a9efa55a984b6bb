"""The processor: validates, deduplicates and grades raw files into processed JSON lines."""
