"""The columnar check of vehicle chunks: the model's rules as set operations over a chunk.

``check_vehicles`` decides in Polars which mapped records are certainly valid and builds their
``Vehicle`` without validating again; the rest (refused, or of a shape the rules do not cover)
are left to ``Vehicle.model_validate``, which stays the contract and explains every refusal.
"""

from .check import check_vehicles

__all__ = ["check_vehicles"]
