"""Placeholder: this capability has its own issue and arrives with it."""
