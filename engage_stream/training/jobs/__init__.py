"""The training jobs behind `engage-stream pretrain` and `engage-stream train`, callable
without the CLI: options in, what was written out, progress through a `Progress`."""
