"""Distributor files as they really arrive: which files exist, what each holds, when it arrived,
and the damage planted in them (re-sends, duplicates, conflicts, corrupt files, bad rows).

`deliver_flow` walks every distributor month by month, renders its lines once (the truth
accumulates from exactly those lines) and writes the files that carry them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from generator import reference as ref
from generator.economy import Economy, month_end
from generator.lines import UNIT_BOX, UNIT_CASE, UNIT_MIN, Book, Lines, build_book, make_lines
from generator.profiles import Profile
from generator.rand import np_rng, py_rng
from generator.render import flow_table, format_dates, format_numbers, totals_row
from generator.world import Distributor, World
from generator.writers import (header_merges, set_arrival, write_text, xls_bytes, xlsx_bytes,
                               xlsx_frame_bytes)

TODAY = datetime(2026, 11, 23, 9, 0)


@dataclass
class FileRecord:
    path: str
    kind: str
    expected_status: str
    rows: int
    quarantined_rows: int
    note: str
    arrival: datetime
    distributor_code: str = ""


@dataclass
class Plan:
    """Special events, each on its own (distributor, month)."""

    resend: set[tuple[str, int]] = field(default_factory=set)
    duplicate: set[tuple[str, int]] = field(default_factory=set)
    conflict: set[tuple[str, int]] = field(default_factory=set)
    missing: set[tuple[str, int]] = field(default_factory=set)
    late: set[tuple[str, int]] = field(default_factory=set)
    damaged: set[tuple[str, int]] = field(default_factory=set)
    spike: set[tuple[str, int]] = field(default_factory=set)
    corrupt: dict[tuple[str, int], str] = field(default_factory=dict)
    unknown_product_dist: str = ""


@dataclass
class FlowOutput:
    files: list[FileRecord]
    cell_amount: np.ndarray
    cell_in_files: np.ndarray
    names_used: dict[str, set[int]]
    products_used: dict[str, set[tuple[str, str, str, str]]]  # code -> (raw_product, raw_spec, raw_unit, product_id)
    books: dict[str, Book]
    anomalies: list[tuple[str, str, str, str, str]]
    rows_written: int = 0


def _unit_under_quantity(prof: Profile) -> bool:
    """A two-row header with the box word under the quantity (数量 over 盒)."""
    if prof.header2 is None:
        return False
    return bool(prof.header2[1][prof.fields.index("quantity")])


def plan_events(seed: int, world: World, profiles: dict[str, Profile], econ: Economy) -> Plan:
    """Pick the (distributor, month) slots that get a special event; only months with sales."""
    rng = py_rng(seed, "events")
    n_months = len(econ.months)
    monthly = [d.code for d in world.distributors if d.flow_required
               and profiles[d.code].cadence == "monthly"]
    pairs, counts = np.unique(econ.cells.dist.astype(np.int64) * 1000 + econ.cells.month, return_counts=True)
    busy = {(world.distributors[int(k // 1000)].code, int(k % 1000)) for k, n in zip(pairs, counts) if n >= 5}
    slots = [(c, m) for c in monthly for m in range(n_months) if (c, m) in busy]
    rng.shuffle(slots)
    plan = Plan()
    used: set[tuple[str, int]] = set()

    def take(n: int, ok) -> list[tuple[str, int]]:
        out = []
        for s in slots:
            if len(out) == n:
                break
            if s not in used and ok(s):
                out.append(s)
                used.add(s)
                used.add((s[0], s[1] + 1))
        return out

    not_last = lambda s: s[1] < n_months - 1  # noqa: E731
    plan.conflict = set(take(1, lambda s: s[1] < n_months - 1 and (s[0], s[1] + 1) not in used))
    plan.resend = set(take(2, not_last))
    plan.duplicate = set(take(1, lambda s: True))
    plan.missing = set(take(2, lambda s: 0 < s[1] < n_months - 1))
    plan.late = set(take(3, not_last))
    plan.damaged = set(take(3, lambda s: True))
    plan.spike = set(take(1, lambda s: True))
    kinds = ["truncated_xlsx", "random_bytes_xls", "empty_csv", "header_only_csv"]
    for kind, slot in zip(kinds, take(len(kinds), lambda s: True)):
        plan.corrupt[slot] = kind
    plan.unknown_product_dist = rng.choice(monthly) if monthly else ""
    return plan


def arrival_time(prof: Profile, period_end: date, rng: random.Random, late: bool = False) -> datetime:
    base = datetime(period_end.year, period_end.month, period_end.day) + timedelta(days=1)
    if prof.cadence == "weekly":
        offset = rng.randint(1, 4)
    elif late or (prof.late_prone and rng.random() < 0.3):
        offset = rng.randint(16, 40)
    else:
        offset = max(1, prof.arrival_day + rng.randint(-2, 3)) - 1
    return base + timedelta(days=offset, hours=rng.randint(8, 19), minutes=rng.randint(0, 59),
                            seconds=rng.randint(0, 59))


def _short(d: Distributor) -> str:
    return d.aliases[0] if d.aliases else d.name[:4]


def file_name(prof: Profile, d: Distributor, company: str, start: date, end: date, kind: str,
              ext: str) -> str:
    one_month = start.replace(day=1) == end.replace(day=1) and start.day == 1 and end == month_end(end)
    if kind == "inventory":
        return [f"{d.code}_stock_{end:%Y%m}", f"{_short(d)}库存{end.year}年{end.month}月",
                f"库存日报_{end:%Y%m%d}", f"{company}库存{end:%Y%m}"][prof.name_style] + f".{ext}"
    if one_month:
        label = [f"{start:%Y%m}", f"{start.year}年{start.month}月", f"{start:%Y%m%d}_{end:%Y%m%d}",
                 f"{start:%Y%m}"][prof.name_style]
    else:
        label = f"{start:%Y%m%d}-{end:%Y%m%d}"
    stem = [f"{d.code}_flow_{label}", f"{_short(d)}流向{label}", f"销售流向_{label}",
            f"{company}流向明细{label}"][prof.name_style]
    return f"{stem}.{ext}"


def title_lines(prof: Profile, d: Distributor, company: str, start: date, end: date,
                kind: str) -> list[str]:
    """Title rows (0-3) and, for some distributors, note rows: all above the header."""
    what = "库存报表" if kind == "inventory" else rng_title(prof)
    rows = [d.name, f"{company}产品{what}",
            f"日期范围：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}" if kind == "flow" else f"截止日期：{end:%Y-%m-%d}"]
    if prof.english:
        rows = [d.name, "Sales Flow Report" if kind == "flow" else "Stock Report",
                f"Period: {start:%Y-%m-%d} to {end:%Y-%m-%d}"]
    rows = rows[: prof.title_rows]
    if prof.footer_note:
        rows += [f"制表人：{['张敏', '李娜', '王磊', '刘洋'][prof.name_style]}　审核：",
                 f"注：本表数据仅供{company}核对使用，退货以负数列示" if prof.return_style == "negative"
                 else f"注：本表数据仅供{company}核对使用"]
    return rows


def rng_title(prof: Profile) -> str:
    return ["流向报表", "销售流向明细", "纯销流向表", "流向明细"][prof.name_style]


def footer_rows(prof: Profile, df: pl.DataFrame, lines: Lines, excel: bool, company: str) -> list[list[object]]:
    rows: list[list[object]] = []
    if prof.total_row:
        rows.append(totals_row(df, prof, lines, excel))
    return rows


def write_table(path: Path, prof: Profile, title: list[str], df: pl.DataFrame,
                footer: list[list[object]], patch: dict[tuple[int, int], object] | None = None,
                header: tuple[tuple[str | None, ...], tuple[str | None, ...]] | None = None) -> None:
    """Write one file in the distributor's format. `patch` overrides cells (row, col) of the data;
    `header` is a two-row header (group row, sub-header row) written instead of the column names,
    with merged cells in xlsx/xls and as the label followed by empty cells in csv/txt."""
    if prof.fmt in ("csv", "txt"):
        if patch:
            df = _patch_text(df, patch)
        sep = "\t" if prof.fmt == "txt" else ","
        write_text(path, title, df, footer, sep, prof.encoding,
                   crlf=prof.encoding in ("gbk", "gb18030"), pad=prof.pad_commas, header=header)
        return
    if prof.fmt == "xlsx":
        sheet = "流向" if path.parent.parent.name == "flow" else "库存"
        path.write_bytes(xlsx_frame_bytes([[t] for t in title], df, footer, patch, sheet, header=header))
        return
    body = [list(r) for r in df.iter_rows()]
    for (r, c), v in (patch or {}).items():
        body[r][c] = v
    if header is None:
        path.write_bytes(xls_bytes([[t] for t in title] + [list(df.columns)] + body + footer))
        return
    merges = [(r1 + len(title), c1, r2 + len(title), c2) for r1, c1, r2, c2 in header_merges(header)]
    path.write_bytes(xls_bytes([[t] for t in title] + [list(h) for h in header] + body + footer,
                               merges=merges))


def _patch_text(df: pl.DataFrame, patch: dict[tuple[int, int], object]) -> pl.DataFrame:
    cols = {name: df[name].to_list() for name in df.columns}
    for (r, c), v in patch.items():
        cols[df.columns[c]][r] = str(v)
    return pl.DataFrame(cols, schema={n: pl.Utf8 for n in df.columns})


def _damage(prof: Profile, n_rows: int, rng: random.Random, first_line: int
            ) -> tuple[dict[tuple[int, int], object], list[str]]:
    """1-3 rows a loader must quarantine: impossible date, non-numeric quantity, no product.
    Reasons name the row as a person sees it (CSV line / Excel row = first_line + data index)."""
    patch: dict[tuple[int, int], object] = {}
    reasons = []
    rows = rng.sample(range(n_rows), min(n_rows, rng.randint(1, 3)))
    for i, r in enumerate(rows):
        kind = ["date", "qty", "product"][i % 3]
        if kind == "date":
            patch[(r, prof.fields.index("sale_date"))] = rng.choice(["2026-02-30", "#N/A", "2025-13-01"])
        elif kind == "qty":
            patch[(r, prof.fields.index("quantity"))] = rng.choice(["壹佰", "N/A", "12..5"])
        else:
            patch[(r, prof.fields.index("product_name"))] = ""
        reasons.append(f"row {first_line + r}: bad {kind}")
    return patch, reasons


def _unknown_rows(df: pl.DataFrame, prof: Profile, rng: random.Random, used: set) -> pl.DataFrame:
    name, spec, unit = rng.choice(ref.UNKNOWN_PRODUCTS)
    k = min(len(df), rng.randint(1, 3))
    extra = df.head(k).with_columns(pl.lit(name).alias(prof.headers["product_name"]),
                                    pl.lit(spec).alias(prof.headers["spec"]))
    if "unit" in prof.fields:
        extra = extra.with_columns(pl.lit(unit).alias(prof.headers["unit"]))
    if "manufacturer" in prof.fields:
        extra = extra.with_columns(pl.lit("其他厂家").alias(prof.headers["manufacturer"]))
    used.add((name, spec, unit if "unit" in prof.fields else prof.box_word, ""))
    return pl.concat([df, extra])


class FlowWriter:
    """Writes the flow files of one distributor and records what they hold."""

    def __init__(self, out: Path, world: World, econ: Economy, prof: Profile, d: Distributor,
                 book: Book, plan: Plan, seed: int, acc: FlowOutput):
        self.out, self.world, self.econ, self.prof, self.d = out, world, econ, prof, d
        self.book, self.plan, self.acc = book, plan, acc
        self.rng = py_rng(seed, f"files:{d.code}")
        self.dir = out / "flow" / d.code
        self.dir.mkdir(parents=True, exist_ok=True)
        self.company = world.company
        self.ext = prof.fmt

    def record_usage(self, lines: Lines) -> None:
        self.acc.names_used.setdefault(self.d.code, set()).update(np.unique(lines.name_row).tolist())
        combos = self.acc.products_used.setdefault(self.d.code, set())
        min_words = [p.min_unit for p in self.world.products]
        for pi, u in set(zip(lines.prod.tolist(), lines.unit.tolist())):
            word = min_words[pi] if u == UNIT_MIN else self.prof.case_word if u == UNIT_CASE else self.prof.box_word
            if "unit" not in self.prof.fields and not self.prof.glued_units:
                # no unit anywhere, unless the two-row header writes 盒 under 数量
                word = self.prof.box_word if _unit_under_quantity(self.prof) else ""
            combos.add((self.book.prod_names[pi], self.book.prod_specs[pi], word,
                        self.world.products[pi].product_id))

    def write(self, lines: Lines, start: date, end: date, arrival: datetime, status: str,
              note: str, suffix: str = "", damage: bool = False, unknown: bool = False,
              spike: bool = False) -> Path | None:
        if len(lines) == 0:
            return None
        if arrival > TODAY:
            self.acc.anomalies.append(("not_yet_received", self.d.code, "", f"{start:%Y-%m}",
                                       f"file for {start:%Y-%m-%d}..{end:%Y-%m-%d} arrives after today "
                                       f"({arrival:%Y-%m-%d}); not in the inbox"))
            return None
        excel = self.ext in ("xlsx", "xls")
        if spike:
            lines = lines.take(np.arange(len(lines)))
            i = len(lines) // 2
            lines.qty[i] *= 100
            lines.amount[i] *= 100
            self.acc.anomalies.append(("quantity_spike", self.d.code,
                                       self.world.products[int(lines.prod[i])].product_id,
                                       f"{start:%Y-%m}", f"one line has 100x its quantity ({lines.qty[i]:.0f})"))
        df = flow_table(lines, self.book, self.prof, self.world, excel)
        quarantined, patch, reasons = 0, None, []
        title = title_lines(self.prof, self.d, self.company, start, end, "flow")
        if damage:
            header_rows = 2 if self.prof.header2 else 1
            patch, reasons = _damage(self.prof, df.height, self.rng, first_line=len(title) + header_rows + 1)
            quarantined += len(patch)
        if unknown:
            before = df.height
            df = _unknown_rows(df, self.prof, self.rng, self.acc.products_used.setdefault(self.d.code, set()))
            quarantined += df.height - before
            reasons.append(f"{df.height - before} rows of a product not in the master")
        if quarantined and status == "loaded":
            status = "partial"
        name = file_name(self.prof, self.d, self.company, start, end, "flow", self.ext)
        path = self.dir / (name.replace(f".{self.ext}", f"{suffix}.{self.ext}") if suffix else name)
        write_table(path, self.prof, title, df, footer_rows(self.prof, df, lines, excel, self.company), patch,
                    header=self.prof.header2)
        set_arrival(path, arrival)
        self.record_usage(lines)
        self.acc.rows_written += df.height
        full_note = "; ".join([note, *reasons]).strip("; ")
        self.acc.files.append(FileRecord(str(path.relative_to(self.out)), "flow", status, df.height,
                                         quarantined, full_note, arrival, self.d.code))
        return path


def _original_version(lines: Lines, rng: np.random.Generator) -> Lines:
    """The first, wrong version of a re-sent month: some lines missing, some quantities off."""
    keep = rng.random(len(lines)) > 0.1
    keep[0] = keep[-1] = True
    out = lines.take(np.nonzero(keep)[0])
    change = rng.random(len(out)) < 0.05
    change[len(out) // 2] = True  # never byte-identical to the corrected re-send
    out.qty = np.where(change, out.qty + np.sign(out.qty) * np.maximum(1, np.abs(out.qty) // 3), out.qty)
    out.amount = np.round(out.qty * out.price, 2)
    return out


def month_lines(world: World, econ: Economy, book: Book, prof: Profile, di: int, mi: int,
                seed: int, by_dm: dict, factor: float) -> Lines:
    idx = by_dm.get((di, mi), np.zeros(0, dtype=np.int64))
    m = econ.months[mi]
    rng = np_rng(seed, f"lines:{prof.code}:{mi}")
    return make_lines(world, book, prof, econ.cells, idx, m, month_end(m).day, rng, factor)


def _concat(parts: list[Lines]) -> Lines:
    return Lines(*(np.concatenate([getattr(p, f) for p in parts]) for f in Lines.__dataclass_fields__))


def _slice_days(lines: Lines, lo: int, hi: int) -> Lines:
    return lines.take(np.nonzero((lines.day >= lo) & (lines.day <= hi))[0])


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def deliver_distributor(w: FlowWriter, di: int, seed: int, by_dm: dict, factor: float,
                        reporting: bool) -> None:
    econ, prof, d, plan, acc = w.econ, w.prof, w.d, w.plan, w.acc
    n_m = len(econ.months)
    rng_np = np_rng(seed, f"resend:{d.code}")
    prev: Lines | None = None
    quarter: list[Lines] = []
    for mi, m in enumerate(econ.months):
        w.prof = prof.at(mi)
        w.ext = w.prof.fmt
        if mi == prof.switch_month:
            acc.anomalies.append(("format_change", d.code, "", f"{m:%Y-%m}",
                                  f"new ERP: files change from {prof.fmt} to {w.prof.fmt}, new headers"))
        lines = month_lines(w.world, econ, w.book, prof, di, mi, seed, by_dm, factor)
        np.add.at(acc.cell_amount, lines.cell, lines.amount)
        key = (d.code, mi)
        if not reporting or key in plan.missing:
            if key in plan.missing:
                acc.anomalies.append(("missing_flow_month", d.code, "", f"{m:%Y-%m}",
                                      "distributor sent no flow file for this month"))
            prev = None
            continue
        end = month_end(m)
        if prof.cadence == "weekly":
            _weekly(w, lines, m, end, acc)
        elif prof.cadence == "quarterly":
            quarter.append(lines)
            if m.month % 3 == 0 or mi == n_m - 1:
                q_start = econ.months[mi - len(quarter) + 1]
                path = w.write(_concat(quarter), q_start, end, arrival_time(prof, end, w.rng),
                               "loaded", f"{len(quarter)}-month file")
                if path is not None:
                    _mark(acc, _concat(quarter))
                quarter = []
        else:
            _monthly(w, key, lines, m, end, rng_np, acc)
            if key in plan.conflict:
                prev = lines
            elif prev is not None and (d.code, mi - 1) in plan.conflict:
                _conflict(w, prev, lines, econ.months[mi - 1], m)
                prev = None


def _mark(acc: FlowOutput, lines: Lines) -> None:
    acc.cell_in_files[lines.cell] = True


def _weekly(w: FlowWriter, lines: Lines, m: date, end: date, acc: FlowOutput) -> None:
    for lo_day in (1, 8, 15, 22):
        lo = m.replace(day=lo_day)
        hi = end if lo_day == 22 else m.replace(day=lo_day + 6)
        part = _slice_days(lines, _days(lo), _days(hi))
        path = w.write(part, lo, hi, arrival_time(w.prof, hi, w.rng), "loaded", "weekly file")
        if path is not None:
            _mark(acc, part)


def _monthly(w: FlowWriter, key, lines: Lines, m: date, end: date, rng_np, acc: FlowOutput) -> None:
    plan, prof = w.plan, w.prof
    arrival = arrival_time(prof, end, w.rng, late=key in plan.late)
    if key in plan.resend:
        first = arrival_time(prof, end, w.rng)
        w.write(_original_version(lines, rng_np), m, end, first, "superseded",
                "first version of the month; replaced by the corrected re-send")
        arrival = max(arrival, first) + timedelta(days=w.rng.randint(5, 12))
        path = w.write(lines, m, end, arrival, "loaded", "corrected re-send of the month", suffix="_更正")
        acc.anomalies.append(("resend", w.d.code, "", f"{m:%Y-%m}", "month re-sent with corrections"))
    else:
        unknown = w.d.code == plan.unknown_product_dist and w.rng.random() < 0.4
        note = "late file" if key in plan.late else ""
        if key in plan.late:
            acc.anomalies.append(("late_file", w.d.code, "", f"{m:%Y-%m}", f"arrived {arrival:%Y-%m-%d}"))
        path = w.write(lines, m, end, arrival, "loaded", note, damage=key in plan.damaged,
                       unknown=unknown, spike=key in plan.spike)
    if path is None:
        return
    _mark(acc, lines)
    if key in plan.duplicate:
        dup = path.with_name(path.stem + "(1)" + path.suffix)
        dup.write_bytes(path.read_bytes())
        when = arrival + timedelta(days=w.rng.randint(1, 5))
        set_arrival(dup, when)
        acc.files.append(FileRecord(str(dup.relative_to(w.out)), "flow", "duplicate", acc.files[-1].rows,
                                    0, f"byte-identical copy of {path.name}", when, w.d.code))
    if key in plan.corrupt:
        _corrupt(w, plan.corrupt[key], lines, m, end, arrival)


def _conflict(w: FlowWriter, prev: Lines, cur: Lines, m_prev: date, m_cur: date) -> None:
    """A file from the 16th of one month to the 15th of the next, sent after both monthly files."""
    lo, hi = _days(m_prev.replace(day=16)), _days(m_cur.replace(day=15))
    part = _concat([_slice_days(prev, lo, hi), _slice_days(cur, lo, hi)])
    when = arrival_time(w.prof, month_end(m_cur), w.rng) + timedelta(days=20)
    when = min(when, TODAY - timedelta(days=1))
    w.write(part, m_prev.replace(day=16), m_cur.replace(day=15), when, "conflict",
            "overlaps two loaded monthly files in part")
    w.acc.anomalies.append(("conflict", w.d.code, "", f"{m_prev:%Y-%m}",
                            "file overlapping two months in part"))


def _corrupt(w: FlowWriter, kind: str, lines: Lines, m: date, end: date, arrival: datetime) -> None:
    rng = w.rng
    when = arrival - timedelta(hours=rng.randint(2, 30))
    stem = file_name(w.prof, w.d, w.company, m, end, "flow", "x").rsplit(".", 1)[0]
    if kind == "truncated_xlsx":
        df = flow_table(lines.take(np.arange(min(len(lines), 400))), w.book, w.prof, w.world, True)
        data = xlsx_bytes([list(df.columns)] + [list(r) for r in df.iter_rows()])
        path, payload, note = w.dir / f"{stem}_上传中断.xlsx", data[: len(data) * 2 // 5], "truncated xlsx"
    elif kind == "random_bytes_xls":
        payload = bytes(rng.getrandbits(8) for _ in range(3000))
        path, note = w.dir / f"{stem}_旧版.xls", "not a spreadsheet: random bytes with .xls name"
    elif kind == "empty_csv":
        path, payload, note = w.dir / f"{stem}_空.csv", b"", "empty file"
    else:
        header = ",".join(w.prof.headers[f] for f in w.prof.fields) + "\r\n"
        path, payload, note = w.dir / f"{stem}_模板.csv", header.encode("gbk"), "header only, no data rows"
    path.write_bytes(payload)
    set_arrival(path, when)
    w.acc.files.append(FileRecord(str(path.relative_to(w.out)), "flow", "rejected", 0, 0, note, when, w.d.code))
    w.acc.anomalies.append(("corrupt_file", w.d.code, "", f"{m:%Y-%m}", f"{path.name}: {note}"))


def index_cells(econ: Economy) -> dict[tuple[int, int], np.ndarray]:
    c = econ.cells
    order = np.lexsort((c.month, c.dist))
    keys = c.dist[order].astype(np.int64) * 1000 + c.month[order]
    uniq, starts = np.unique(keys, return_index=True)
    bounds = list(starts[1:]) + [len(order)]
    return {(int(k // 1000), int(k % 1000)): order[s:e] for k, s, e in zip(uniq, starts, bounds)}


def deliver_flow(out: Path, world: World, econ: Economy, profiles: dict[str, Profile], plan: Plan,
                 seed: int, factor: float, console=None) -> FlowOutput:
    by_dm = index_cells(econ)
    acc = FlowOutput([], np.zeros(len(econ.cells)), np.zeros(len(econ.cells), bool), {}, {}, {}, [])
    items = list(enumerate(world.distributors))
    iterator = console.track(items, "flow files", total=len(items)) if console else items
    for di, d in iterator:
        prof = profiles[d.code]
        sel = np.concatenate([v for (dd, _), v in by_dm.items() if dd == di] or [np.zeros(0, np.int64)])
        book = build_book(world, seed, prof, econ.cells, sel)
        acc.books[d.code] = book
        w = FlowWriter(out, world, econ, prof, d, book, plan, seed, acc)
        deliver_distributor(w, di, seed, by_dm, factor, reporting=d.flow_required)
    return acc


def inventory_files(out: Path, world: World, econ: Economy, profiles: dict[str, Profile],
                    flow: FlowOutput, seed: int) -> list[tuple[str, str, str, int, int]]:
    """Monthly stock reports; returns the planted variances (code, product, month, true, reported)."""
    rng = py_rng(seed, "inventory-files")
    variances = []
    planted = {"duplicate": len(econ.months) // 2, "truncated": len(econ.months) // 3}
    for di, d in enumerate(world.distributors):
        if not d.flow_required:
            continue
        base = profiles[d.code]
        (out / "inventory" / d.code).mkdir(parents=True, exist_ok=True)
        for mi, m in enumerate(econ.months):
            prof = base.at(mi)
            end = month_end(m)
            if rng.random() < 0.05:
                flow.anomalies.append(("missing_stock_report", d.code, "", f"{m:%Y-%m}", "no stock report sent"))
                continue
            arrival = arrival_time(prof, end, rng)
            if arrival > TODAY:
                continue
            df, var = _stock_table(world, econ, prof, flow.books[d.code], di, mi, end, rng, flow)
            variances += [(d.code, *v) for v in var]
            if df.height == 0:
                continue
            path = out / "inventory" / d.code / file_name(prof, d, world.company, m, end, "inventory", prof.fmt)
            write_table(path, prof, title_lines(prof, d, world.company, m, end, "inventory"), df, [])
            set_arrival(path, arrival)
            flow.files.append(FileRecord(str(path.relative_to(out)), "inventory", "loaded", df.height, 0,
                                         "", arrival, d.code))
            if planted.get("duplicate") == mi:
                del planted["duplicate"]
                _extra_file(out, flow, path, "_copy", path.read_bytes(), arrival + timedelta(days=2),
                            "duplicate", df.height, f"byte-identical copy of {path.name}", d.code)
            if planted.get("truncated") == mi and prof.fmt == "xlsx":
                del planted["truncated"]
                data = path.read_bytes()
                _extra_file(out, flow, path, "_未完成", data[: len(data) // 2], arrival - timedelta(hours=3),
                            "rejected", 0, "truncated xlsx", d.code)
    return variances


def _extra_file(out: Path, flow: FlowOutput, original: Path, suffix: str, payload: bytes, when: datetime,
                status: str, rows: int, note: str, code: str) -> None:
    """A second file next to `original` (a copy, a broken upload) with its own arrival time."""
    extra = original.with_name(original.stem + suffix + original.suffix)
    extra.write_bytes(payload)
    set_arrival(extra, when)
    flow.files.append(FileRecord(str(extra.relative_to(out)), "inventory", status, rows, 0, note, when, code))


def _stock_table(world: World, econ: Economy, prof: Profile, book: Book, di: int, mi: int, end: date,
                 rng: random.Random, flow: FlowOutput) -> tuple[pl.DataFrame, list[tuple]]:
    """Rows of one stock report: true closing per product split over batches, some misreported."""
    excel = prof.fmt in ("xlsx", "xls")
    rows: dict[str, list] = {prof.inv_headers[f]: [] for f in prof.inv_fields}
    variances = []
    combos = flow.products_used.setdefault(prof.code, set())
    for pi, p in enumerate(world.products):
        true = int(econ.closing[di, pi, mi])
        if true <= 0:
            continue
        reported = true
        if rng.random() < 0.03:
            reported = max(0, int(round(true * rng.choice([0.7, 0.85, 1.1, 1.25, 1.5]))))
            variances.append((p.product_id, f"{end:%Y-%m}", true, reported))
        unit = UNIT_MIN if (prof.unit_policy == "min_all" or
                            (prof.unit_policy == "min_injectables" and p.min_unit == "支")) else UNIT_BOX
        factor = p.pack_size if unit == UNIT_MIN else 1
        word = p.min_unit if unit == UNIT_MIN else prof.box_word
        n_b = 1 if reported < 3 else rng.randint(1, 3)
        cuts = sorted(rng.randint(0, reported) for _ in range(n_b - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, reported])]
        for k, q in enumerate(parts):
            if q == 0 and n_b > 1:
                continue
            prod_day = end - timedelta(days=30 * (k + 2))
            values = {"snapshot_date": end, "product_name": book.prod_names[pi], "spec": book.prod_specs[pi],
                      "batch_no": f"{prod_day:%y%m%d}{(pi * 7 + k + 2) % 90 + 10}",
                      "expiry_date": prod_day + timedelta(days=729), "quantity": q * factor, "unit": word}
            for f in prof.inv_fields:
                rows[prof.inv_headers[f]].append(values[f])
        combos.add((book.prod_names[pi], book.prod_specs[pi], word if "unit" in prof.inv_fields else "",
                    p.product_id))
    df = pl.DataFrame(rows, schema={h: (pl.Date if f in ("snapshot_date", "expiry_date") else
                                        pl.Int64 if f == "quantity" else pl.Utf8)
                                    for f, h in prof.inv_headers.items()})
    if not excel or prof.date_style not in ("serial", "excel"):
        df = df.with_columns([
            pl.Series(format_dates(np.array([_days(x) for x in df[h]], dtype=np.int64),
                                   prof.date_style if prof.date_style not in ("serial", "excel") else "iso"))
            .alias(h) for f, h in prof.inv_headers.items() if f in ("snapshot_date", "expiry_date")])
        if not excel:
            qh = prof.inv_headers["quantity"]
            df = df.with_columns(format_numbers(df[qh].to_numpy().astype(float), 0, prof.thousands).alias(qh))
    elif prof.date_style == "serial":
        df = df.with_columns([(pl.col(h).cast(pl.Int32) + 25569).alias(h)
                              for f, h in prof.inv_headers.items() if f in ("snapshot_date", "expiry_date")])
    return df, variances
