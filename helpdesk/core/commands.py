"""Helpers for the apps' management commands."""

from __future__ import annotations


def non_negative_int(value: str) -> int:
    """An argparse type: a whole number, 0 or more (counts of things to generate)."""
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number
