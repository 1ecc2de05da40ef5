"""Sales ops' decisions on inbox files: `<data_dir>/stewardship/file_decisions.yaml`.

sources.md holds a file that overlaps an older one only in part as `conflict` "until someone
decides (replace or add)". The decision is one line per file, keyed by the path `sfe ingest`
reports (relative to the inbox):

    flow/SD01/销售流向_20251216-20260115.csv: replace   # its rows replace the older file's
    flow/SD02/补充流向_2026-03.xlsx: add                # its rows count on top of the older file's
    flow/SD03/坏文件.xlsx: {decision: ignore, by: 王芳, why: "sender re-sent it as CSV"}

`ignore` acknowledges a rejected file: it stays rejected and listed, but no longer makes runs
need attention (exit 1). It must say who decided and why.

Conflict files are re-examined on every run, so the next `sfe ingest` applies the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sfe.config import Settings
from sfe.report import UsageError

RESOLUTIONS = ("replace", "add")
IGNORE = "ignore"
FILE_NAME = "file_decisions.yaml"
ACK_PREFIX = "acknowledged (ignore) by "  # how the registry's reasons mark an acknowledged file


@dataclass(frozen=True)
class Acknowledgement:
    """A person set a rejected file aside on purpose."""

    by: str
    why: str

    def note(self) -> str:
        return f"{ACK_PREFIX}{self.by}: {self.why}"


def decisions_path(settings: Settings) -> Path:
    return settings.stewardship_dir / FILE_NAME


def load_file_decisions(settings: Settings) -> dict[str, str]:
    """Path → 'replace' | 'add'; an unreadable file or unknown word is a usage error (exit 2)."""
    return {key: word for key, word, _ in _entries(settings) if word != IGNORE}


def load_acknowledgements(settings: Settings) -> dict[str, Acknowledgement]:
    """Path → who set the rejected file aside and why (`decision: ignore`)."""
    return {key: ack for key, word, ack in _entries(settings) if ack is not None}


def _entries(settings: Settings) -> list[tuple[str, str, Acknowledgement | None]]:
    path = decisions_path(settings)
    if not path.is_file():
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid YAML ({exc}); fix it or remove it") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected lines 'inbox/relative/path: replace|add'")
    return [_entry(path, str(key), value) for key, value in doc.items()]


def _entry(path: Path, key: str, value: object) -> tuple[str, str, Acknowledgement | None]:
    fields = value if isinstance(value, dict) else {"decision": value}
    word = str(fields.get("decision", "")).strip().lower()
    if word not in (*RESOLUTIONS, IGNORE):
        raise UsageError(f"{path}: '{key}: {value}' — the decision must be one of "
                         f"{', '.join((*RESOLUTIONS, IGNORE))}")
    ack = None
    if word == IGNORE:
        by, why = (str(fields.get(k) or "").strip() for k in ("by", "why"))
        if not by or not why:
            raise UsageError(f"{path}: '{key}' — an ignore decision must say who and why: "
                             f"'{key}: {{decision: ignore, by: <name>, why: <reason>}}'")
        ack = Acknowledgement(by, why)
    return key.strip().replace("\\", "/"), word, ack
