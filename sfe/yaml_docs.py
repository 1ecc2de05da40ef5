"""YAML documents the product reads on every run (the marts' yml with their rate bounds, the
gates), parsed once per distinct content in a process.

A check reads the seven marts' property files twice (the rules' digest and the bounds gate):
~0.1 s a check with libyaml, a third of a small check's time. The key is the file's text, not
its mtime: an edit that keeps size and mtime (a restored backup, a coarse clock) is read anew.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where installed


def read_yaml(path: Path) -> Any:
    """The document in `path` (UTF-8). Shared between callers: read it, never change it.
    Raises OSError, UnicodeDecodeError or yaml.YAMLError as reading and parsing do."""
    return _parsed(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)
