"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfe.config import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a throwaway warehouse under tmp_path, ignoring any sfe.toml and SFE_* env."""
    return load_settings(env={}, data_dir=tmp_path / "data")
