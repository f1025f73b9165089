"""Hugging Face model folder -> shippable model folder (`models/<name>/`).

fp32 by optimum (the parity reference), dynamic int8 by optimum's ORTQuantizer for the
CPU, fp16 with ORT's transformer fusions for CUDA, the tokenizer files, and the manifest
`engage-model.json` with a sha256 of every file. The folder is built beside the target
and moved into place only once parity holds and the engine has loaded it, so a failed
export never leaves a half-written model where the worker looks.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from engage_stream import __version__
from engage_stream.export.heads_graph import append_heads
from engage_stream.export.hf_dir import ExportError, HfModelDir, read_hf_dir
from engage_stream.export.parity import PARITY_TEXTS, ParityReport, check_parity
from engage_stream.inference.model_folder import MANIFEST, ModelManifest, Precision, sha256_of
from engage_stream.observability.logs import get_logger

log = get_logger("engage.export")

FILES: dict[Precision, str] = {
    "fp32": "model.onnx",
    "int8": "model.int8.onnx",
    "fp16": "model.fp16.onnx",
}
# Copied as training wrote them; optimum would re-save the tokenizer through transformers.
_COPIED = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "added_tokens.json",
    "engage-train.json",
    "MODEL_CARD.md",
)
_NOISY_MODULES = r"(torch|transformers|optimum|onnx|onnxruntime)(\.|$)"
_CHATTY_PATHS = (f"{os.sep}onnxruntime{os.sep}", f"{os.sep}optimum{os.sep}")
INT8_SCHEME = (
    "dynamic, u8 activations / s8 weights, per tensor, weight products only "
    "(ORTQuantizer avx512_vnni; attention products stay fp32)"
)
FP16_SCHEME = "ORT transformer fusions for GPU, then fp16 with fp32 inputs/outputs"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ExportReport:
    out_dir: Path
    name: str
    version: str
    task: str
    labels: tuple[str, ...]
    max_length: int
    files: dict[str, int]
    """File name -> size in bytes."""
    parity: ParityReport
    seconds: float


def export_model(
    hf_dir: Path,
    out_dir: Path,
    *,
    texts: Sequence[str] | None = None,
    tolerance: float = 1e-3,
    progress: Progress | None = None,
) -> ExportReport:
    """Export, check parity on `texts` (fp32 logits within `tolerance` of PyTorch), write
    the manifest, load the result with the engine, then replace `out_dir` with it."""
    started = time.perf_counter()
    say = progress or (lambda _: None)
    source = read_hf_dir(Path(hf_dir))
    out_dir = Path(out_dir)
    _check_target(out_dir, source.path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from a worker's user
    try:
        with _export_extra_needed(), _quiet_libraries():
            say("exporting fp32 ONNX with optimum")
            _export_fp32(source, staging)
            say("quantising to int8 for the CPU")
            _quantize_int8(staging)
            say("converting to fp16 for CUDA")
            _convert_fp16(staging)
            _copy_source_files(source, staging)
            say("checking parity with PyTorch")
            parity = check_parity(source, staging, FILES, texts or PARITY_TEXTS)
        _require_parity(parity, tolerance, source)
        _write_model_card(staging, source.task, parity)
        _write_manifest(source, staging, parity)
        say("loading with the inference engine")
        _load_with_engine(staging, source)
        files = {p.name: p.stat().st_size for p in sorted(staging.iterdir()) if p.is_file()}
        _replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = ExportReport(
        out_dir=out_dir,
        name=source.name,
        version=source.version,
        task=source.task,
        labels=source.labels,
        max_length=source.max_length,
        files=files,
        parity=parity,
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info(
        "model_exported",
        model=source.name,
        version=source.version,
        out=str(out_dir),
        fp32_max_abs_diff=parity.fp32_max_abs_diff,
        int8_argmax_agreement=parity.int8_argmax_agreement,
        seconds=report.seconds,
    )
    return report


def _write_model_card(staging: Path, task: str, parity: ParityReport) -> None:
    """A classifier trained by `engage-stream train` gets its card from the manifests (before
    the manifest is written, so the card has a sha256 too); a folder without one (a user's
    own model, the drafter) keeps the card it came with."""
    from engage_stream.training.model_card import render

    if task == "feature-extraction" or not (staging / "engage-train.json").is_file():
        return
    p = parity
    agreement = "-" if p.int8_argmax_agreement is None else f"{p.int8_argmax_agreement:.0%}"
    fp16 = p.fp16_note if p.fp16_max_abs_diff is None else f"max |Δ| {p.fp16_max_abs_diff:.1e}"
    notes = [
        f"Export parity on {p.texts} real Korean sentences: fp32 ONNX vs PyTorch max |Δlogit| "
        f"{p.fp32_max_abs_diff:.1e}; int8 max |Δ| {p.int8_max_abs_diff:.1e}, same label on "
        f"{agreement}; fp16 {fp16}.",
        f"int8 scheme: {INT8_SCHEME}. fp16 scheme: {FP16_SCHEME}.",
    ]
    files = {f.name: f.stat().st_size for f in sorted(staging.iterdir()) if f.suffix == ".onnx"}
    (staging / "MODEL_CARD.md").write_text(render(staging, files, notes), encoding="utf-8")


def _check_target(out_dir: Path, hf_dir: Path) -> None:
    """Replace an earlier export, never a folder that is something else."""
    if out_dir.resolve() == hf_dir.resolve():
        raise ExportError(f"{out_dir}: the output folder cannot be the Hugging Face folder")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a folder")
    if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise ExportError(
            f"{out_dir}: exists and is not a model folder (no {MANIFEST}); "
            "give a new or empty folder"
        )


class _DropLibraryChatter(logging.Filter):
    """Info lines of the ORT quantizer and optimizer, which log through the root logger
    or loggers named after bare modules (`fusion_base`), one line per tensor."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not any(
            part in record.pathname for part in _CHATTY_PATHS
        )


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """transformers, optimum and the tracer warn about things that are fine for an
    encoder export; errors still come through."""
    from optimum.utils import logging as optimum_logging
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity(), optimum_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    optimum_logging.set_verbosity_error()
    handlers = list(logging.getLogger().handlers)
    chatter = _DropLibraryChatter()
    for handler in handlers:
        handler.addFilter(chatter)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=_NOISY_MODULES)
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(chatter)
        hf_logging.set_verbosity(verbosity[0])
        optimum_logging.set_verbosity(verbosity[1])


@contextmanager
def _export_extra_needed() -> Iterator[None]:
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ExportError(
            f"the export needs the export extra ({exc.name} is not installed): "
            "pip install 'engage-stream[export]'"
        ) from None


def _export_fp32(source: HfModelDir, staging: Path) -> None:
    """optimum exports the model, or a multi-head model's shared encoder, whose graph then
    gets the heads appended (`heads_graph`)."""
    from optimum.exporters.onnx import main_export

    multi_head = source.task == "multi-head"
    # Our own parity check below replaces optimum's validation (random inputs, own atol).
    main_export(
        str(source.path),
        staging,
        task="feature-extraction" if multi_head else source.task,
        framework="pt",
        library_name="transformers",
        do_validation=False,
    )
    fp32 = staging / FILES["fp32"]
    if not fp32.is_file():
        raise ExportError(f"{source.path}: optimum wrote no {FILES['fp32']}")
    if multi_head:
        from safetensors.numpy import load_file

        from engage_stream.training.multihead import HEADS_FILE

        append_heads(fp32, source.heads, load_file(str(source.path / HEADS_FILE)))


def _quantize_int8(staging: Path) -> None:
    """Dynamic int8 of the plain fp32 graph's weight multiplications. Measured on 4x256
    BERT, 2 cores: u8/s8 about twice as fast as optimum's avx2 u8/u8; ORT-fused graphs
    do not quantise without extra shape inference and were slower once quantised, so the
    fusions go to fp16 only. The attention products (activation x activation) stay fp32:
    quantising their short rows cost more time than it saved and moved the logits three
    times as far from fp32."""
    from dataclasses import replace

    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    work = staging / "int8-work"
    quantizer = ORTQuantizer.from_pretrained(staging, file_name=FILES["fp32"])
    config = AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=False)
    excluded = activation_products(staging / FILES["fp32"])
    quantizer.quantize(replace(config, nodes_to_exclude=excluded), save_dir=work)
    (work / "model_quantized.onnx").replace(staging / FILES["int8"])
    shutil.rmtree(work)


def activation_products(onnx_file: Path) -> list[str]:
    """Names of the MatMul nodes that multiply two activations (no weight operand)."""
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and not constants.intersection(node.input)
    ]


def _convert_fp16(staging: Path) -> None:
    """For the CUDA EP: attention/LayerNorm/GELU fusions, then fp16 weights and math with
    int64 ids in and fp32 scores out, so the engine feeds it like the other files.
    opt_level 0: only the portable Python fusions, no ORT session (needs no GPU here)."""
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(
        str(staging / FILES["fp32"]),
        model_type="bert",
        num_heads=0,
        hidden_size=0,
        opt_level=0,
        use_gpu=True,
    )
    model.convert_float_to_float16(keep_io_types=True)
    model.save_model_to_file(str(staging / FILES["fp16"]))
    onnx.checker.check_model(str(staging / FILES["fp16"]))


def _copy_source_files(source: HfModelDir, staging: Path) -> None:
    for name in _COPIED:
        if (source.path / name).is_file():
            shutil.copyfile(source.path / name, staging / name)


def _require_parity(parity: ParityReport, tolerance: float, source: HfModelDir) -> None:
    if parity.tokenizer_mismatch is not None:
        raise ExportError(
            f"{source.path}: tokenizer.json and the transformers tokenizer give different ids "
            f"for {parity.tokenizer_mismatch[:80]!r}; the engine would feed the model other "
            "tokens than training did"
        )
    if not parity.fp32_max_abs_diff <= tolerance:  # also catches NaN
        raise ExportError(
            f"{source.path}: ONNX fp32 differs from PyTorch by {parity.fp32_max_abs_diff:.2e} "
            f"(tolerance {tolerance:.0e}); the export is not shipped"
        )


def _write_manifest(source: HfModelDir, staging: Path, parity: ParityReport) -> None:
    files = [p for p in sorted(staging.iterdir()) if p.is_file() and p.name != MANIFEST]
    checksums = {p.name: sha256_of(p) for p in files}
    try:
        manifest = ModelManifest(
            name=source.name,
            version=source.version,
            task=source.task,
            labels=list(source.labels),
            heads=list(source.heads),
            max_length=source.max_length,
            files=dict(FILES),
            sha256=checksums,
            training=source.training,
            export={
                "versions": _versions(),
                "int8": INT8_SCHEME,
                "fp16": FP16_SCHEME,
                "parity": asdict(parity),
            },
        )
    except ValidationError as exc:
        raise ExportError(f"{source.path}: cannot describe the model: {exc}") from None
    (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _versions() -> dict[str, str]:
    versions = {"engage-stream": __version__}
    for package in ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime-gpu"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _load_with_engine(staging: Path, source: HfModelDir) -> None:
    """What the worker will do with the folder: if this fails, nothing is shipped."""
    from engage_stream.inference import ModelFolderError
    from engage_stream.inference.runner import OnnxRunner

    try:
        OnnxRunner.open(staging, device="cpu").close()  # every head runs in the warm-up
    except ModelFolderError as exc:
        raise ExportError(f"the engine cannot load the export: {exc.problem}") from None


def _replace(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
