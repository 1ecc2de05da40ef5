"""The data-quality report: one HTML page per gate run in settings.reports_dir.

Shows which checks ran, which failed, samples of failing rows and the trend over recent runs;
`quality-latest.html` is always the newest one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True, undefined=jinja2.ChainableUndefined)


def write_report(reports_dir: Path, run: dict[str, Any], results: list[dict[str, Any]],
                 trend: dict[str, Any], thresholds: dict[str, Any], working_db: Path) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    html = _ENV.get_template("quality_report.html.j2").render(
        run=run, results=results, trend=trend, thresholds=thresholds, working_db=working_db,
        blocking=[r for r in results if r["severity"] == "blocking"
                  and r["status"] in ("fail", "error")],
        warnings=[r for r in results if r["severity"] == "warning" and r["status"] == "fail"])
    path = reports_dir / f"quality-{run['run_id']}.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    latest = reports_dir / "quality-latest.html"
    tmp_latest = reports_dir / ".quality-latest.html.tmp"
    tmp_latest.write_text(html, encoding="utf-8")
    os.replace(tmp_latest, latest)
    return path
