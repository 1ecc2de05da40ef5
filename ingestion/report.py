"""What `sfe ingest` returns: one result per file, totals, a readable summary and an exit code."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK

NEEDS_PERSON = ("rejected", "conflict", "partial")
STATUSES = ("loaded", "partial", "rejected", "duplicate", "superseded", "conflict")
# reasons that flag a file whatever its status (a warning, not a hold)
FUTURE_MTIME_FLAG = "future modification time:"


@dataclass
class FileResult:
    path: str  # relative to the inbox
    source: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    file_id: int | None = None
    distributor_code: str | None = None
    supersedes: list[int] = field(default_factory=list)  # file ids this file replaced
    acknowledged: str | None = None  # a person set this rejected file aside (file_decisions)
    unchanged_since: str | None = None  # rejected/conflict, not read again: same as in this run

    @property
    def needs_person(self) -> bool:
        return self.status in NEEDS_PERSON and self.acknowledged is None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def flags(self) -> list[str]:
        return [r for r in self.reasons if r.startswith(FUTURE_MTIME_FLAG)]


@dataclass
class IngestReport:
    inbox: str
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)  # file ids replaced during this run
    skipped: list[dict[str, str]] = field(default_factory=list)  # {path, reason}: not read by rule

    @property
    def exit_code(self) -> int:
        return EXIT_NEEDS_ATTENTION if any(f.needs_person for f in self.files) else EXIT_OK

    def totals(self) -> dict[str, object]:
        by_status = Counter(f.status for f in self.files)
        return {
            "files": len(self.files),
            "by_status": {s: by_status.get(s, 0) for s in STATUSES},
            "rows_read": sum(f.rows_read for f in self.files),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
            "superseded_file_ids": list(self.superseded),
            "flagged_files": [f.path for f in self.files if f.flags],
            "skipped": len(self.skipped),
            "acknowledged": sum(1 for f in self.files if f.acknowledged),
        }

    def to_dict(self) -> dict[str, object]:
        return {"inbox": self.inbox, "run_id": self.run_id,
                "files": [f.to_dict() for f in self.files], "skipped": list(self.skipped),
                "totals": self.totals(),
                "exit_code": self.exit_code}

    def top_reasons(self, limit: int = 8) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for f in self.files:
            if f.needs_person:
                for reason in f.reasons[:3]:
                    if not reason.startswith("skipped"):
                        counts[_reason_kind(reason)] += 1
        return counts.most_common(limit)

    def summary(self) -> str:
        console = Console(quiet=True)
        t = self.totals()
        by_source: dict[tuple[str, str], list[FileResult]] = {}
        for f in self.files:
            by_source.setdefault((f.source or "?", f.status), []).append(f)
        rows = [[src, status, len(fs), sum(f.rows_read for f in fs),
                 sum(f.rows_loaded for f in fs), sum(f.rows_quarantined for f in fs)]
                for (src, status), fs in sorted(by_source.items())]
        text = console.table(f"ingest {self.inbox}: {t['files']} files", [
            "source", "status", "files", "rows read", "loaded", "quarantined"], rows)
        attention = [[f.path, f.status, (f.reasons or [""])[0][:90]]
                     for f in self.files if f.needs_person][:20]
        if attention:
            text += console.table("files that need a person", ["file", "status", "first reason"],
                                  attention)
        flagged = [[f.path, f.status, f.flags[0][:90]] for f in self.files if f.flags][:20]
        if flagged:
            text += console.table("flagged files (loaded as usual; check)",
                                  ["file", "status", "flag"], flagged)
        acked = [[f.path, (f.acknowledged or "")[:90]] for f in self.files if f.acknowledged]
        if acked:
            text += console.table("rejected, set aside by a person", ["file", "decision"],
                                  acked[:20])
        text += self._unchanged_line()
        if self.skipped:
            text += console.table("not read, by rule", ["file or folder", "why"],
                                  [[s["path"], s["reason"][:90]] for s in self.skipped[:20]])
        top = self.top_reasons()
        if top:
            text += console.table("top reasons", ["reason", "files"], [[r, n] for r, n in top])
        return text


    def _unchanged_line(self) -> str:
        """'5 rejected files unchanged since run X': not read again, reasons kept above."""
        groups = Counter((f.status, f.unchanged_since) for f in self.files if f.unchanged_since)
        return "".join(f"{n} {status} file{'s' if n > 1 else ''} unchanged since run {run} "
                       "(bytes, mapping, decisions and reader the same): not read again\n"
                       for (status, run), n in sorted(groups.items()))


def _reason_kind(reason: str) -> str:
    """A reason without its counts and row numbers, so equal problems group together."""
    return re.sub(r"^\d+ rows quarantined \(first at row \d+\): ", "rows: ", reason)[:110]
