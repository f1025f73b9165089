"""Korean language helpers that any layer may use (no project imports)."""
