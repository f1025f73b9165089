"""Logs (and, with the worker, metrics) for the person on call."""
