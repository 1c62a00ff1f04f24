"""Composite regularization functions built from primitives (no backward of their own)."""

from __future__ import annotations

__all__: list[str] = []
