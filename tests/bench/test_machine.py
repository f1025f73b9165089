"""A result names the machine well enough to tell two that report the same CPU name apart."""

from __future__ import annotations

from pathlib import Path

from engage_stream.bench.machine import cpu_model

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx avx2 fma

processor\t: 1
model name\t: something else
"""

ZEN4 = ZEN3.replace("model\t\t: 1", "model\t\t: 17").replace(
    "avx avx2 fma", "avx avx2 fma avx512f avx512_vnni"
)


def test_the_cpu_is_named_with_its_family_model_and_vector_extensions(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(ZEN3)

    assert cpu_model(info) == "AMD EPYC (family 25, model 1; avx2)"


def test_two_generations_with_one_name_read_differently(tmp_path: Path) -> None:
    older, newer = tmp_path / "zen3", tmp_path / "zen4"
    older.write_text(ZEN3)
    newer.write_text(ZEN4)

    assert cpu_model(newer) == "AMD EPYC (family 25, model 17; avx2/avx512f/avx512_vnni)"
    assert cpu_model(older) != cpu_model(newer)


def test_a_machine_without_cpuinfo_still_gets_a_name(tmp_path: Path) -> None:
    assert cpu_model(tmp_path / "missing")
