"""Benchmarks of the pipeline (run them as modules: ``python -m bench.e2e.run``)."""
