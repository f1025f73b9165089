"""Processes started and watched from outside: the worker as a child process, for the
demo, the benchmarks and the integration tests (never imported by the worker itself)."""
