"""`engage-stream export`: a trained Hugging Face model -> a model folder the worker serves.

Needs the training/export extra (torch, transformers, optimum); the worker does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.startup import startup


def export(
    hf_dir: Annotated[
        Path, typer.Argument(help="Hugging Face model folder, as `engage-stream train` writes it.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Model folder to write (replaced if it holds an earlier export)."),
    ] = None,
    parity_texts: Annotated[
        Path | None,
        typer.Option(help="Texts for the parity check, one per line; default: built-in Korean."),
    ] = None,
) -> None:
    """ONNX fp32, int8 (CPU) and fp16 (CUDA), checked against PyTorch; default --out is
    ENGAGE_MODEL_DIR/<name from engage-train.json>."""
    from engage_stream.export import ExportError, export_model, read_hf_dir

    settings = startup()
    console = Console(stderr=True)
    try:
        target = out or settings.model_dir / read_hf_dir(hf_dir).name
        texts = _read_texts(parity_texts) if parity_texts else None
        with console.status("exporting ...") as status:
            report = export_model(
                hf_dir, target, texts=texts, progress=lambda step: status.update(f"{step} ...")
            )
    except ExportError as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None
    table = Table(title=f"{report.name} {report.version} ({report.task})", title_justify="left")
    table.add_column("file")
    table.add_column("size", justify="right")
    for name, size in report.files.items():
        table.add_row(name, f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB")
    console.print(table)
    parity = report.parity
    console.print(
        f"parity on {parity.texts} texts: fp32 max |diff| {parity.fp32_max_abs_diff:.1e}, "
        f"int8 max |diff| {parity.int8_max_abs_diff:.1e}"
        + (
            f", int8 label agreement {parity.int8_argmax_agreement:.0%}"
            if parity.int8_argmax_agreement is not None
            else ""
        )
        + (
            f", fp16 max |diff| {parity.fp16_max_abs_diff:.1e}"
            if parity.fp16_max_abs_diff is not None
            else f", fp16 {parity.fp16_note}"
        )
        + f" ({report.seconds:.0f} s)"
    )
    typer.echo(str(report.out_dir))


def _read_texts(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(
            f"cannot read {path}: {exc}", param_hint="--parity-texts"
        ) from None
    texts = [line for line in lines if line.strip()]
    if not texts:
        raise typer.BadParameter(f"{path} has no texts", param_hint="--parity-texts")
    return texts
