"""End-to-end benchmark: the whole stack against a bare COPY of the same rows."""
