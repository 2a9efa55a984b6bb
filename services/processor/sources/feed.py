"""Feed files: the seed's fields, like dropped files."""

from __future__ import annotations

from .drop import map_item

__all__ = ["map_item"]
