"""A columnar check of vehicle chunks, measured against the model (not used by the service).

``check_vehicles`` decides in Polars which mapped records are certainly valid and builds their
``Vehicle`` without validating again; the rest (refused, or of a shape the rules do not cover)
are left to ``Vehicle.model_validate``. ``tests/unit/bench/test_columnar_differential.py`` proves
it takes the same decisions and stores the same values as the model, and
``bench.processor.bench_check`` measures it. The processor does not use it: it saves ~3.5 us of
the ~170 us a record of the reading side and importing Polars adds ~43 MB to the reader process,
which would take the processor over its 300 MB target (docs/performance.md).
"""

from .check import check_vehicles

__all__ = ["check_vehicles"]
