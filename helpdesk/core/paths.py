"""Materialized paths (the organisation tree's ``path``: ``step`` characters per level, a unit's path
starting with its parent's). Pure string helpers any app can use without importing the tree."""

from __future__ import annotations


def ancestor_paths(path: str, step: int) -> list[str]:
    """``path`` and the paths of every node above it, nearest first."""
    return [path[:length] for length in range(len(path), 0, -step)]
