"""Upload a distributor flow file from the Loads page: preview it, then put it in the inbox.

The preview runs the loader's own reading, header recognition, mapping and validation
(`ingestion.pipeline.preview_file`) on the uploaded bytes and writes nothing; buyers are looked up
read-only in the published snapshot (their current match, or matching's candidate search against
the customer master for a name never seen). "Put it in the inbox" only writes the file,
atomically, to `inbox/flow/<distributor_code>/`: rows reach the warehouse through the normal
`sfe ingest`, never from the page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from ingestion.discover import BUSINESS_TZ, InboxFile, name_date
from ingestion.pipeline import Rejected, load_product_keys, preview_file
from ingestion.sources import BY_FOLDER
from quality.published import current_snapshot_file
from sfe.config import Settings

ALLOWED_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_NAME_CHARS = 150
SHOWN_ROWS = 1000  # rows kept for the page; the counts cover the whole file
UPLOAD_ROLES = frozenset({"sales_ops", "steward"})
FLOW = BY_FOLDER["flow"]


class UploadRefused(ValueError):
    """The upload cannot go in; the message says what to change."""


@dataclass
class Preview:
    file_name: str
    distributor_code: str
    sha256: str
    status: str  # loaded | partial | rejected: what `sfe ingest` would record
    reasons: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    loaded: pd.DataFrame = field(default_factory=pd.DataFrame)  # the first SHOWN_ROWS
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)  # the first SHOWN_ROWS
    buyers: pd.DataFrame = field(default_factory=pd.DataFrame)
    buyer_note: str = ""
    already_ingested: str | None = None  # same bytes as a registered file: nothing would load


# -- who may upload ------------------------------------------------------------------------------

def upload_author(settings: Settings) -> str | None:
    """Who the upload is recorded as, or None when this session may not upload: with login on,
    a signed-in sales_ops or steward; with login off, the local account of a server bound to
    this machine (the same rule as match decisions, `auth.decision_author`)."""
    from dashboards import auth

    if settings.access_control:
        ident = auth.current_identity(settings)
        return ident.user.login if ident and ident.user.role in UPLOAD_ROLES else None
    return auth.decision_author(settings)


def distributor_choices(settings: Settings) -> dict[str, str]:
    """Distributor code → "code name" from the published distributor master (dim_distributor)."""
    from dashboards import connection

    frame = connection.run("select distributor_code, name from marts.dim_distributor "
                     "where distributor_code is not null order by distributor_code",
                     settings=settings)
    return {r.distributor_code: f"{r.distributor_code} {r.name or ''}".strip()
            for r in frame.itertuples()}


# -- the file name and where it goes --------------------------------------------------------------

def safe_name(name: str) -> str:
    """The uploaded file's name as it will sit in the inbox, or UploadRefused saying why not."""
    clean = unicodedata.normalize("NFC", (name or "").strip())
    if not clean:
        raise UploadRefused("the file has no name; rename it (e.g. D001_2026-10.csv)")
    if any(sep in clean for sep in ("/", "\\")) or ".." in clean:
        raise UploadRefused(f"file name {clean!r} holds a path ('/', '\\' or '..'); upload the "
                            "file itself under a plain name")
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise UploadRefused(f"file name {clean!r} holds control characters; rename it")
    if clean.startswith((".", "_", "~$")):
        raise UploadRefused(f"file name {clean!r} starts with '.', '_' or '~$', which the inbox "
                            "treats as hidden or temporary; rename it")
    if len(clean) > MAX_NAME_CHARS:
        raise UploadRefused(f"file name is {len(clean)} characters; shorten it to "
                            f"{MAX_NAME_CHARS} or fewer")
    if Path(clean).suffix.lower() not in ALLOWED_EXTENSIONS:
        raise UploadRefused(f"file name {clean!r} does not end in one of "
                            f"{', '.join(ALLOWED_EXTENSIONS)}; flow files are CSV/TXT or Excel")
    return clean


def _check(name: str, code: str, raw: bytes, distributors: list[str]) -> str:
    if code not in distributors:
        raise UploadRefused(f"distributor {code!r} is not in the distributor master; choose one "
                            "from the list (a new distributor goes into master/distributors first)")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"the file is {len(raw) / 1e6:.1f} MB, over the "
                            f"{MAX_UPLOAD_BYTES // 2**20} MB limit for uploads; put it in "
                            f"inbox/flow/{code}/ directly")
    if not raw.strip():
        raise UploadRefused("the file is empty; ask the distributor to send it again")
    return safe_name(name)


def _item(settings: Settings, code: str, name: str) -> InboxFile:
    now = dt.datetime.now(BUSINESS_TZ).replace(tzinfo=None)
    path = Path(settings.inbox) / "flow" / code / name
    return InboxFile(path, f"flow/{code}/{name}", "flow", FLOW, code, now,
                     name_date(Path(name).stem))


# -- preview ------------------------------------------------------------------------------------

def preview(settings: Settings, code: str, name: str, raw: bytes,
            distributors: list[str]) -> Preview:
    """What `sfe ingest` would do with this file; writes nothing anywhere."""
    name = _check(name, code, raw, distributors)
    sha = hashlib.sha256(raw).hexdigest()
    out = Preview(name, code, sha, "rejected")
    with _snapshot(settings) as con:
        products = _product_keys(con)
        if not products:
            out.reasons.append("the published snapshot has no product master: products are not "
                               "checked in this preview (the loader checks them)")
        out.already_ingested = _already_ingested(con, sha)
        try:
            outcome = preview_file(settings, _item(settings, code, name), raw, products)
        except Rejected as exc:
            out.reasons.insert(0, str(exc))
            return out
        except Exception as exc:  # noqa: BLE001 - as ingest_file: the file would be rejected
            out.reasons.insert(0, f"could not be processed ({type(exc).__name__}: "
                                  f"{str(exc)[:300]}); report this file to the data team")
            return out
        parsed = outcome.parsed
        out.rows_read = parsed.rows_read
        out.rows_loaded, out.rows_quarantined = parsed.loaded.height, parsed.quarantined.height
        out.status = "partial" if parsed.quarantined.height else "loaded"
        out.reasons = outcome.notes + out.reasons
        out.loaded = parsed.loaded.head(SHOWN_ROWS).to_pandas()
        out.quarantined = parsed.quarantined.head(SHOWN_ROWS).to_pandas()
        out.buyers, out.buyer_note = buyer_outcomes(con, settings, code, parsed.loaded)
    return out


@contextmanager
def _snapshot(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the published snapshot, or None when there is none yet."""
    try:
        con = duckdb.connect(str(current_snapshot_file(settings)), read_only=True)
    except (FileNotFoundError, duckdb.Error):
        con = None
    try:
        yield con
    finally:
        if con is not None:
            con.close()


def _has(con: duckdb.DuckDBPyConnection | None, table: str) -> bool:
    if con is None:
        return False
    schema, name = table.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where "
                            "table_schema = ? and table_name = ?", [schema, name]).fetchone()[0])


def _product_keys(con: duckdb.DuckDBPyConnection | None) -> tuple[str, ...]:
    return load_product_keys(con) if _has(con, "raw.master__products") else ()


def _already_ingested(con: duckdb.DuckDBPyConnection | None, sha: str) -> str | None:
    if not _has(con, "audit.file_registry"):
        return None
    row = con.execute("select path, status from audit.file_registry where sha256 = ? "
                      "order by file_id limit 1", [sha]).fetchone()
    return f"{row[0]} ({row[1]})" if row else None


# -- buyers: would they match? ------------------------------------------------------------------

def _buyers(loaded: pl.DataFrame) -> pl.DataFrame:
    amount = pl.col("amount").sum() if "amount" in loaded.columns else pl.lit(None)
    return (loaded.filter(pl.col("buyer_name").str.strip_chars() != "")
            .group_by("buyer_name", pl.col("buyer_code").fill_null(""))
            .agg(pl.col("buyer_address").drop_nulls().first().alias("buyer_address"),
                 pl.len().alias("rows"), amount.alias("amount"))
            .sort("rows", "buyer_name", descending=[True, False]))


def buyer_outcomes(con: duckdb.DuckDBPyConnection | None, settings: Settings, code: str,
                   loaded: pl.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per distinct buyer: its current match in the published snapshot, else what matching's
    candidate search against the customer master suggests (auto / review / unmatched)."""
    buyers = _buyers(loaded)
    if buyers.is_empty():
        return buyers.to_pandas(), ""
    known = _known_matches(con, code)
    frame = buyers.join(known, left_on="buyer_name", right_on="raw_name", how="left")
    new = frame.filter(pl.col("match_status").is_null())
    note = ""
    if new.height:
        suggested, note = _suggest(con, settings, code, new)
        frame = frame.update(suggested, on=["buyer_name", "buyer_code"], how="left")
    frame = frame.with_columns(pl.col("match_status").fill_null("unknown"))
    return frame.to_pandas(), note


def _known_matches(con: duckdb.DuckDBPyConnection | None, code: str) -> pl.DataFrame:
    schema = {"raw_name": pl.String, "match_status": pl.String, "crm_customer_id": pl.String,
              "match_score": pl.Float64, "seen": pl.String}
    if not _has(con, "marts.map_customer_source"):
        return pl.DataFrame(schema=schema)
    rows = con.execute(
        "select raw_name, any_value(match_status), any_value(crm_customer_id), "
        "max(match_score), 'matched before' from marts.map_customer_source "
        "where source = 'flow' and distributor_code = ? group by raw_name", [code]).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _suggest(con: duckdb.DuckDBPyConnection | None, settings: Settings, code: str,
             new: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    from matching.customers import CustomerIndex, CustomerMatcher, RawBuyer, Thresholds, load_aliases
    from matching.pipeline import build_normalizer, master_customers
    from matching.sources import load_customer_master, load_distributors

    keys = new.select("buyer_name", "buyer_code")
    if con is None or not _has(con, "raw.master__customers"):
        return keys.with_columns(pl.lit("new name").alias("seen")), (
            "the published snapshot has no customer master, so new buyer names cannot be "
            "previewed; they are matched at the next `sfe run` (uncertain ones go to review)")
    customers = load_customer_master(con)
    normalizer = build_normalizer(customers)
    index = CustomerIndex.build(master_customers(customers, normalizer), normalizer,
                                load_aliases())
    matcher = CustomerMatcher(index, normalizer, Thresholds(
        settings.thresholds.match_auto_score, settings.thresholds.match_review_score))
    home = load_distributors(con).filter(pl.col("distributor_code") == code)
    province = home["province"][0] if home.height else ""
    city = home["city"][0] if home.height else ""
    decisions = matcher.match([RawBuyer(r["buyer_name"], r["buyer_address"] or "",
                                        province or "", city or "")
                               for r in new.iter_rows(named=True)])
    return keys.with_columns(
        pl.Series("match_status", [d.status for d in decisions], pl.String),
        pl.Series("crm_customer_id", [d.crm_customer_id for d in decisions], pl.String),
        pl.Series("match_score", [round(d.score, 3) for d in decisions], pl.Float64),
        pl.lit("new name").alias("seen")), ""


# -- put it in the inbox ------------------------------------------------------------------------

def put_in_inbox(settings: Settings, code: str, name: str, raw: bytes, distributors: list[str],
                 author: str | None) -> Path:
    """Write the file to inbox/flow/<code>/<name> atomically, never over an existing file, and
    log who put it there. The next `sfe ingest` (or the DAG) loads it."""
    if author is None:
        raise UploadRefused("only a signed-in sales_ops or steward user may put files in the "
                            "inbox (with login off: only on a server bound to this machine)")
    name = _check(name, code, raw, distributors)
    folder = Path(settings.inbox) / "flow" / code
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    # a dot-name is invisible to discover(), so a half-written file is never ingested
    tmp = folder / f".upload-{os.getpid()}-{hashlib.sha256(raw).hexdigest()[:12]}.part"
    with open(tmp, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, target)  # atomic, and fails rather than overwrite
    except FileExistsError:
        raise UploadRefused(f"inbox/flow/{code}/{name} already exists; a corrected file needs "
                            "a new name (e.g. add _v2), the loader then supersedes the old one"
                            ) from None
    finally:
        tmp.unlink(missing_ok=True)
    _log_upload(settings, target, raw, author)
    return target


def _log_upload(settings: Settings, target: Path, raw: bytes, author: str) -> None:
    log = Path(settings.stewardship_dir) / "uploads.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"path": str(target.relative_to(settings.inbox)),
                       "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
                       "who": author, "at": dt.datetime.now().astimezone().isoformat()},
                      ensure_ascii=False)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
