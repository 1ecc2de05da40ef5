"""`generate()`: one call writes a whole demo inbox plus `_truth/`, deterministically per seed."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from generator.delivery import FileRecord, deliver_flow, inventory_files, plan_events
from generator.economy import build_economy, month_starts
from generator.profiles import Profile, add_layouts, build_profile, new_erp
from generator.rand import py_rng
from generator.calls import write_calls
from generator.systems import write_activities, write_master, write_sellin, write_targets
from generator.tenders import write_tenders
from generator.truth import write_truth
from generator.world import build_world
from sfe.config import Settings
from sfe.report import UsageError

SOURCES = ("master", "flow", "inventory", "sellin", "calls", "activities", "tenders", "targets")
BULK_ROWS = 500_000  # above this, distributors' spreadsheets become CSV/TXT (same messiness)
DEFAULT_COMPANY = Settings().company_name


@dataclass
class GenerateResult:
    out: Path
    seed: int
    customers: int
    months: int
    flow_rows: int
    files_per_source: dict[str, int]
    expected_status: dict[str, int]
    truth_rows: dict[str, int]
    calls: int
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0

    def to_dict(self) -> dict:
        return {"out": str(self.out), "seed": self.seed, "customers": self.customers,
                "months": self.months, "flow_rows": self.flow_rows,
                "files_per_source": self.files_per_source, "expected_status": self.expected_status,
                "truth_rows": self.truth_rows, "calls": self.calls,
                "seconds": round(self.seconds, 2), "warnings": self.warnings}

    def summary(self) -> str:
        files = ", ".join(f"{k} {v}" for k, v in self.files_per_source.items())
        statuses = ", ".join(f"{k} {v}" for k, v in self.expected_status.items())
        return (f"generated inbox {self.out} (seed {self.seed}, {self.customers} customers, "
                f"{self.months} months) in {self.seconds:.1f}s\n"
                f"  files: {files}\n  flow rows: {self.flow_rows:,}; calls: {self.calls:,}\n"
                f"  expected load outcome: {statuses}\n"
                f"  truth: {self.out / '_truth'}")


def _prepare(out: Path) -> None:
    """Refuse to write into a folder holding anything but a previous generator output."""
    if out.exists() and any(out.iterdir()):
        if not (out / "_truth" / "files.csv").is_file():
            raise UsageError(f"{out} is not empty and was not written by 'sfe generate'; "
                             "choose an empty or new folder")
        for name in (*SOURCES, "_truth"):
            if (out / name).exists():
                shutil.rmtree(out / name)
    out.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        (out / name).mkdir(exist_ok=True)


def _volume_for_rows(world, seed: int, months, rows: int | None) -> tuple[float, float]:
    """(demand volume multiplier, lines-per-cell factor) so flow files hold about `rows` lines."""
    if not rows:
        return 1.0, 1.0
    probe = build_economy(world, seed, months, 1.0)
    n_cells = max(len(probe.cells), 1)
    factor = rows / n_cells
    mean_q = float(probe.cells.qty.mean()) if n_cells else 1.0
    return max(1.0, 3.0 * factor / max(mean_q, 1.0)), factor


def erp_changes(seed: int, profiles: dict[str, Profile], months: int, bulk: bool) -> dict[str, Profile]:
    """Two monthly distributors change ERP (file format and headers) half-way through."""
    if months < 4:
        return profiles
    monthly = sorted(code for code, p in profiles.items() if p.cadence == "monthly")
    for code in py_rng(seed, "erp-changes").sample(monthly, min(2, len(monthly))):
        profiles[code] = new_erp(profiles[code], seed, months // 2, bulk)
    return profiles


def generate(out: Path, seed: int = 1, customers: int = 2000, months: int = 24, rows: int | None = None,
             console=None, company: str = DEFAULT_COMPANY) -> GenerateResult:
    if customers < 20 or months < 2:
        raise UsageError(f"generate needs at least 20 customers and 2 months (got customers={customers}, "
                         f"months={months})")
    if months > 120:
        raise UsageError(f"months={months}: at most 120 months (10 years) of history")
    if rows is not None and rows <= 0:
        raise UsageError(f"rows={rows}: give a positive number of flow rows, or leave it out")
    started = time.perf_counter()
    out = Path(out)
    _prepare(out)
    say = console.step if console else (lambda _m: None)
    month_list = month_starts(months)
    say(f"simulating the market: {customers} customers, {months} months "
        f"({month_list[0]:%Y-%m}..{month_list[-1]:%Y-%m})")
    world = build_world(seed, customers, month_list, company)
    volume, factor = _volume_for_rows(world, seed, month_list, rows)
    econ = build_economy(world, seed, month_list, volume)
    bulk = bool(rows and rows > BULK_ROWS)
    profiles = erp_changes(seed, {d.code: build_profile(seed, d.code, i, bulk)
                                  for i, d in enumerate(world.distributors)}, months, bulk)
    profiles = {code: add_layouts(p, seed) for code, p in profiles.items()}
    plan = plan_events(seed, world, profiles, econ)
    say("writing distributor flow files")
    flow = deliver_flow(out, world, econ, profiles, plan, seed, factor, console)
    say("writing stock reports and system extracts")
    variances = inventory_files(out, world, econ, profiles, flow, seed)
    files: list[FileRecord] = flow.files
    write_master(out, world, month_list, files)
    write_sellin(out, econ, files)
    n_calls = write_calls(out, world, econ, seed, files)
    write_activities(out, world, econ, files)
    write_targets(out, world, econ, seed, files)
    tender_truth = write_tenders(out, world, month_list, seed, files)
    say("writing _truth/")
    truth_counts = write_truth(out, world, econ, flow, profiles, tender_truth, files, variances)
    per_source = Counter(f.kind for f in files)
    return GenerateResult(
        out=out, seed=seed, customers=customers, months=months, flow_rows=flow.rows_written,
        files_per_source={k: per_source.get(k, 0) for k in SOURCES},
        expected_status=dict(sorted(Counter(f.expected_status for f in files).items())),
        truth_rows=truth_counts, calls=n_calls, seconds=time.perf_counter() - started)
