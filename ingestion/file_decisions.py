"""Sales ops' decisions on conflicting files: `<data_dir>/stewardship/file_decisions.yaml`.

sources.md holds a file that overlaps an older one only in part as `conflict` "until someone
decides (replace or add)". The decision is one line per file, keyed by the path `sfe ingest`
reports (relative to the inbox):

    flow/SD01/销售流向_20251216-20260115.csv: replace   # its rows replace the older file's
    flow/SD02/补充流向_2026-03.xlsx: add                # its rows count on top of the older file's

Conflict files are re-examined on every run, so the next `sfe ingest` applies the decision.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sfe.config import Settings
from sfe.report import UsageError

RESOLUTIONS = ("replace", "add")
FILE_NAME = "file_decisions.yaml"


def decisions_path(settings: Settings) -> Path:
    return settings.stewardship_dir / FILE_NAME


def load_file_decisions(settings: Settings) -> dict[str, str]:
    """Path → 'replace' | 'add'; an unreadable file or unknown word is a usage error (exit 2)."""
    path = decisions_path(settings)
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid YAML ({exc}); fix it or remove it") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected lines 'inbox/relative/path: replace|add'")
    decisions: dict[str, str] = {}
    for key, value in doc.items():
        word = str(value).strip().lower()
        if word not in RESOLUTIONS:
            raise UsageError(f"{path}: '{key}: {value}' — the decision must be one of "
                             f"{', '.join(RESOLUTIONS)}")
        decisions[str(key).strip().replace("\\", "/")] = word
    return decisions
