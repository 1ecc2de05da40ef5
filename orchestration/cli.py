"""The `sfe` command line: parses arguments, loads settings, calls one stage function, prints.

No business logic lives here; every command calls the same function the DAGs and tests call.
Exit codes: 0 success, 1 the work ran but needs a person, 2 bad usage or config.
With `--json` stdout carries exactly one JSON object; logs and progress go to stderr.
Anything a user can cause (bad arguments or config, a missing inbox, an unwritable data
directory, a bad steward decision line) ends with one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import NoReturn

from dashboards.users import add_users_parser, users_command
from orchestration.scheduler import airflow_command
from orchestration.status import status_command
from quality.gates import check_command
from quality.publish import publish_command
from sfe.config import ENGINES, ConfigError, Settings, load_settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, EXIT_USAGE, StageReport, UsageError, WorkBlocked
from sfe.signals import StopHandler, Stopped, is_interrupt

# commands that write under the data directory: it must be writable before they start
WRITES_DATA = ("ingest", "build", "check", "publish", "run", "demo")


class _Parser(argparse.ArgumentParser):
    """Bad arguments raise a UsageError, so main() answers them like any other (one line, and a
    JSON object with --json) instead of argparse printing its usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object on stdout and nothing else there")
    parser.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output on stderr")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="settings file (default: ./sfe.toml or $SFE_CONFIG)")
    parser.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                        help="where the warehouse lives (default: ./data or $SFE_DATA_DIR)")


def _engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="where dbt builds the models (default: the 'engine' setting, duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sfe", description="Sell-out flow (流向) and SFE KPI warehouse.")
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        return p

    p = add("generate", "write a realistic demo inbox (all sources) plus _truth/")
    p.add_argument("--out", type=Path, required=True, help="folder to write the inbox into")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--rows", type=int, default=None,
                   help="scale flow files to about this many rows (benchmarks)")

    p = add("ingest", "load every new inbox file into the working warehouse")
    p.add_argument("inbox", nargs="?", type=Path, default=None)

    p = add("build", "match customers/products and run dbt (seeds, models, tests)")
    p.add_argument("--select", nargs="*", default=None, help="dbt selection, e.g. marts.coverage+")
    p.add_argument("--force", action="store_true",
                   help="rebuild every table from raw (dbt --full-refresh), even when nothing "
                        "changed since the last successful build")
    _engine(p)

    add("check", "run the data-quality gates on the working warehouse")
    add("publish", "publish a read-only snapshot if the gates passed")

    p = add("run", "ingest → build → check → publish")
    p.add_argument("inbox", nargs="?", type=Path, default=None)
    _engine(p)

    p = add("demo", "generate demo data, run the whole job, say where the dashboards are")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--customers", type=int, default=600)
    p.add_argument("--months", type=int, default=15)
    p.add_argument("--no-serve", action="store_true", help="do not start the dashboards")
    p.add_argument("--port", type=int, default=8501)

    add("status", "paths, last run, gate status, per-source file counts")

    p = add("serve", "start the Streamlit dashboards on the published snapshot")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only); another "
                        "address needs access_control = true and users (`sfe users add`)")
    add_users_parser(sub, _common)

    p = add("scorecard", "render the weekly scorecard (HTML, optionally PDF) and email it")
    p.add_argument("--week", default=None, help="week start (a Monday), YYYY-MM-DD")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--send", action="store_true", help="email it via the SMTP settings")
    p.add_argument("--resend", action="store_true",
                   help="email it even to recipients who already got this week's scorecard from "
                        "this snapshot (implies --send)")

    p = add("airflow", "set up Airflow for this project (home under the data dir) and start it")
    p.add_argument("--setup-only", action="store_true",
                   help="migrate, create the writer pool, serialize the DAGs, print the login; "
                        "do not start Airflow")
    p.add_argument("--port", type=int, default=8080, help="Airflow's web UI and API port")
    return parser


# The stages that load pandas/pandera (ingestion, ~3 s) or polars (matching, the generator, ~1 s)
# are imported when their command runs, so `sfe status`, `sfe --help` and the rest start at once.
def _generate(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from generator.cli_entry import generate_command  # lazy: start-up speed (polars)

    return generate_command(settings, args, console)


def _ingest(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from ingestion.pipeline import ingest_command  # lazy: start-up speed (pandas, pandera)

    return ingest_command(settings, args, console)


def _build(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from orchestration.build import build_command  # lazy: start-up speed (polars)

    return build_command(settings, args, console)


def _run(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from orchestration.pipeline import run_command  # lazy: start-up speed (every stage)

    return run_command(settings, args, console)


def _scorecard(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from dashboards.scorecard import scorecard_command  # lazy: start-up speed (streamlit, pandas)

    return scorecard_command(settings, args, console)


def _serve(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from dashboards.serve import serve_command  # lazy: start-up speed (urllib, ssl)

    return serve_command(settings, args, console)


def _demo(settings: Settings, args: argparse.Namespace, console: Console) -> StageReport:
    from orchestration.pipeline import demo_command  # lazy: start-up speed (every stage)

    return demo_command(settings, args, console)


# each command's function takes (settings, args, console) and returns a StageReport
COMMANDS: dict[str, Callable[[Settings, argparse.Namespace, Console], StageReport]] = {
    "generate": _generate,
    "ingest": _ingest,
    "build": _build,
    "check": check_command,
    "publish": publish_command,
    "run": _run,
    "demo": _demo,
    "status": status_command,
    "serve": _serve,
    "users": users_command,
    "scorecard": _scorecard,
    "airflow": airflow_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; SIGTERM/SIGINT stop it cleanly, a second one at once (sfe/signals.py)."""
    stop = StopHandler()
    previous = stop.install()
    try:
        code = _main(argv)
    except Exception as exc:
        if not (stop.received and is_interrupt(exc)):
            raise
        code = _stopped("sfe", stop.signum or signal.SIGINT)
    finally:
        stop.restore(previous)
    if stop.received and code not in (EXIT_OK, 128 + (stop.signum or signal.SIGINT)):
        # the signal landed where a step caught it as an error (DuckDB's "Query interrupted");
        # a command that ends normally on a signal (sfe serve) keeps its 0
        code = _stopped("sfe", stop.signum or signal.SIGINT)
    return code


def _stopped(command: str, signum: int) -> int:
    print(f"{command}: stopped ({signal.Signals(signum).name}); the warehouse keeps its last "
          "good state", file=sys.stderr)
    return 128 + signum


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json, command = "--json" in argv, "sfe"  # until the arguments parse
    try:
        args = build_parser().parse_args(argv)
        as_json, command = getattr(args, "json", False), f"sfe {args.command}"
        console = Console(quiet=getattr(args, "quiet", False) or False)
        overrides = {}
        if getattr(args, "data_dir", None) is not None:
            overrides["data_dir"] = args.data_dir
        if getattr(args, "engine", None) is not None:
            overrides["engine"] = args.engine
        settings = load_settings(getattr(args, "config", None), **overrides)
        check_paths(args, settings, console)
        with _writer_lock(args.command, settings, console):
            report = COMMANDS[args.command](settings, args, console)
    except (ConfigError, UsageError) as exc:
        return _fail(command, str(exc), EXIT_USAGE, as_json)
    except WorkBlocked as exc:
        return _fail(command, str(exc), EXIT_NEEDS_ATTENTION, as_json)
    except OSError as exc:  # a path the user gave or set up: missing, unreadable, unwritable
        return _fail(command, os_error_message(exc), EXIT_USAGE, as_json)
    except KeyboardInterrupt as exc:
        return _stopped(command, exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
    except Exception as exc:
        message = database_error_message(exc)
        if message is None:
            raise  # a bug: the traceback is what a developer needs
        return _fail(command, message, EXIT_USAGE, as_json)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        text = report.summary()
        if text:
            print(text)
    return report.exit_code


def _writer_lock(command: str, settings: Settings,
                 console: Console) -> AbstractContextManager[None]:
    """The one-stage writing commands wait here for another writer; `run` and `demo` take the
    lock in run_pipeline (as the DAGs do), around their writing steps only."""
    if command in ("ingest", "build", "check", "publish"):
        from sfe.warehouse import writer_lock  # noqa: PLC0415 - duckdb only for writers

        return writer_lock(settings, f"sfe {command}", console)
    return nullcontext()


def _fail(command: str, message: str, code: int, as_json: bool) -> int:
    """One line on stderr; with --json also the one JSON object on stdout."""
    if as_json:
        print(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False))
    print(f"{command}: {message}", file=sys.stderr)
    return code


def check_paths(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    """Refuse, before any work starts, paths the command cannot use."""
    if args.command in WRITES_DATA:
        check_writable(settings.data_dir)
    if args.command in ("ingest", "run"):
        check_inbox(args.inbox, settings, console)


def check_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise UsageError(
            f"the data directory {data_dir} is not writable ({exc.strerror or exc}); fix its "
            "permissions, or point --data-dir, SFE_DATA_DIR or data_dir in sfe.toml at a "
            "writable folder") from exc


def check_inbox(inbox: Path | None, settings: Settings, console: Console) -> None:
    """A folder the user named must exist; the default inbox of a fresh set-up is created."""
    if inbox is not None or settings.inbox_dir is not None:
        path = inbox if inbox is not None else settings.inbox
        given = "" if inbox is not None else "configured "
        if not path.is_dir():
            state = "is not a folder" if path.exists() else "does not exist"
            fix = ("check the path, or leave it out to use the configured inbox "
                   f"({settings.inbox})" if inbox is not None
                   else "create it, or fix inbox_dir in sfe.toml or SFE_INBOX")
            raise UsageError(f"the {given}inbox {path} {state}; {fix}")
        return
    if settings.inbox.is_dir():
        return
    if settings.inbox.exists():
        raise UsageError(f"the inbox {settings.inbox} is not a folder; move that file away")
    settings.inbox.mkdir(parents=True)
    console.warn(f"created the inbox {settings.inbox}; it is empty: put the distributors' files "
                 "there (master/ first), see docs/runbook.md")


def os_error_message(exc: OSError) -> str:
    if exc.filename is None:  # raised with its own message
        return str(exc)
    return (f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}; check that the "
            "path exists and that this user may read and write it")


def database_error_message(exc: Exception) -> str | None:
    """DuckDB refusing a file the user set up (unreadable, not a database): what to fix.
    Without duckdb loaded no exception can be one of its errors."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None or not isinstance(exc, duckdb.IOException | duckdb.PermissionException):
        return None
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"the warehouse could not be opened ({first}); check the files under the data "
            "directory and their permissions")


if __name__ == "__main__":
    sys.exit(main())
