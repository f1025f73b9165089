"""The tiny exported models, shared with tests/inference (built once per session)."""

from __future__ import annotations

import pytest

from tests.tiny_models import TinyModels, tiny_models


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)
