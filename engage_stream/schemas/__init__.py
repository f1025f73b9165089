"""Typed contracts for everything that crosses a process boundary (pydantic v2)."""
