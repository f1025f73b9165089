"""Benchmark commands: numbers are measured here and written into the repo, never asserted."""
