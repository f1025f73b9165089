"""Command-line shell (typer + rich); the work itself lives in the other packages."""
