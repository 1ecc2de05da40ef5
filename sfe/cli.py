"""The `sfe` command line: parses arguments, loads settings, calls one stage function, prints.

No business logic lives here; every command calls the same function the DAGs and tests call.
Exit codes: 0 success, 1 the work ran but needs a person, 2 bad usage or config.
With `--json` stdout carries exactly one JSON object; logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dashboards.users import add_users_parser
from sfe.config import ConfigError, Settings, load_settings
from sfe.console import Console
from sfe.report import EXIT_USAGE, StageNotBuilt, StageReport, UsageError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object on stdout and nothing else there")
    parser.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output on stderr")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="settings file (default: ./sfe.toml or $SFE_CONFIG)")
    parser.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                        help="where the warehouse lives (default: ./data or $SFE_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
                   help="run dbt even when nothing changed since the last successful build")

    add("check", "run the data-quality gates on the working warehouse")
    add("publish", "publish a read-only snapshot if the gates passed")

    p = add("run", "ingest → build → check → publish")
    p.add_argument("inbox", nargs="?", type=Path, default=None)

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
    return parser


# command name -> "module:function"; each function takes (settings, args, console) -> StageReport
COMMANDS: dict[str, str] = {
    "generate": "generator.cli_entry:generate_command",
    "ingest": "ingestion.pipeline:ingest_command",
    "build": "sfe.build:build_command",
    "check": "quality.gates:check_command",
    "publish": "quality.publish:publish_command",
    "run": "sfe.pipeline:run_command",
    "demo": "sfe.pipeline:demo_command",
    "status": "sfe.status:status_command",
    "serve": "dashboards.serve:serve_command",
    "users": "dashboards.users:users_command",
    "scorecard": "dashboards.scorecard:scorecard_command",
}


def resolve(command: str) -> Callable[[Settings, argparse.Namespace, Console], StageReport]:
    """Import a command's function; a stage that is not built yet is a clear exit-2 error."""
    module_name, func_name = COMMANDS[command].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise StageNotBuilt(f"'sfe {command}' is not available yet: its stage "
                                f"({module_name}) is not built in this version") from exc
        raise
    func = getattr(module, func_name, None)
    if func is None:
        raise StageNotBuilt(f"'sfe {command}' is not available yet: {module_name}.{func_name} "
                            "is not built in this version")
    return func


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    as_json = getattr(args, "json", False)
    console = Console(quiet=getattr(args, "quiet", False) or False)
    try:
        overrides = {}
        if getattr(args, "data_dir", None) is not None:
            overrides["data_dir"] = args.data_dir
        settings = load_settings(getattr(args, "config", None), **overrides)
        report = resolve(args.command)(settings, args, console)
    except (ConfigError, UsageError) as exc:
        if as_json:
            print(json.dumps({"error": str(exc), "exit_code": EXIT_USAGE}, ensure_ascii=False))
        print(f"sfe {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"sfe {args.command}: interrupted; the warehouse keeps its last good state",
              file=sys.stderr)
        return 130
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        text = report.summary()
        if text:
            print(text)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
