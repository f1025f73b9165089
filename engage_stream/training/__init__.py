"""Training the default Korean models (training/export extra: torch, transformers, sklearn)."""
