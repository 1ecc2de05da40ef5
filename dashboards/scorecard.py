"""The weekly scorecard: one HTML page per region from `marts.scorecard_weekly` (and a PDF),
emailed to management. Reads the published snapshot only.

`render_scorecard` is what the weekly DAG's render task calls; its send task calls
`scorecard_delivery.deliver_scorecard`; `scorecard_command` is the `sfe scorecard` adapter. The
context (scorecard_context) is built once per render or send and feeds the HTML and the PDF.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboards.scorecard_context import ScorecardError, scorecard_context
from dashboards.scorecard_delivery import SendFailed, deliver_scorecard
from dashboards.scorecard_pdf import write_pdf
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError

_log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def render_html(context: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("scorecard.html.j2").render(**context)


def find_chromium() -> str | None:
    """A Chromium for the browser test; the PDF does not need one (scorecard_pdf)."""
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if candidate.startswith("/") else shutil.which(candidate)
        if path and Path(path).exists():
            return path
    return None


def write_html(context: dict[str, Any], out: Path) -> Path:
    """Write the scorecard HTML of `context` to `out` atomically (a .pdf name becomes .html)."""
    out = Path(out)
    if out.suffix.lower() == ".pdf":
        out = out.with_suffix(".html")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(context), encoding="utf-8")
    tmp.replace(out)
    return out


def default_path(settings: Settings, context: dict[str, Any]) -> Path:
    return Path(settings.reports_dir) / f"scorecard-{context['week_start']}.html"


def render_scorecard(settings: Settings, week: dt.date | str | None = None,
                     out: Path | None = None, pdf: bool = True) -> Path:
    """Render the scorecard HTML (and the PDF next to it, see scorecard_pdf); returns the HTML
    path. Idempotent: the same week and snapshot give the same numbers (only the generation time
    in the footer differs), and the template stamps both into the HTML head."""
    context = scorecard_context(settings, week)
    html = write_html(context, out or default_path(settings, context))
    if pdf and (note := write_pdf(context, html.with_suffix(".pdf"))):
        _log.warning("scorecard %s: %s", context["week_start"], note)
    return html


@dataclass
class ScorecardReport:
    week: str | None = None
    html: str | None = None
    pdf: str | None = None
    pdf_note: str | None = None
    data_status: str | None = None
    sent_to: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # had this week's scorecard already
    error: str | None = None
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "html": self.html, "pdf": self.pdf, "pdf_note": self.pdf_note,
                "data_status": self.data_status, "sent_to": self.sent_to,
                "skipped": self.skipped, "error": self.error, "exit_code": self.exit_code}

    def summary(self) -> str:
        lines = [f"scorecard: {self.error}"] if self.error else [
            f"scorecard for the week of {self.week}: {self.html}",
            f"  PDF: {self.pdf}" if self.pdf else f"  {self.pdf_note}",
            f"  data status: {self.data_status}"]
        if self.sent_to:
            lines.append(f"  emailed to {', '.join(self.sent_to)}")
        if self.skipped:
            lines.append(f"  not emailed again (already sent this week's scorecard from this "
                         f"snapshot): {', '.join(self.skipped)}; use --resend to send anyway")
        return "\n".join(lines)


def scorecard_command(settings: Settings, args: argparse.Namespace,
                      console: Console) -> ScorecardReport:
    """`sfe scorecard [--week YYYY-MM-DD] [--out FILE] [--send] [--resend]`."""
    resend = bool(getattr(args, "resend", False))
    send = bool(getattr(args, "send", False)) or resend
    if send and not settings.smtp.host:  # say so before any work
        raise UsageError("--send needs an SMTP host: set [smtp] host and recipients in sfe.toml "
                         "or SFE_SMTP_HOST / SFE_SMTP_RECIPIENTS")
    report = ScorecardReport()
    console.step("rendering the weekly scorecard from the published snapshot")
    try:
        context = scorecard_context(settings, getattr(args, "week", None))
    except ScorecardError as exc:
        report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
        return report
    html = write_html(context, getattr(args, "out", None) or default_path(settings, context))
    report.week, report.html = context["week_start"], str(html)
    report.data_status = "withheld: blocking gate failed" if context["refuse"] else (
        "passed" if context["status_class"] == "ok" else "last good snapshot (latest refused)")
    console.step("printing PDF")
    note = write_pdf(context, html.with_suffix(".pdf"))
    if note is None:
        report.pdf = str(html.with_suffix(".pdf"))
    else:
        report.pdf_note = note
        console.warn(note)
    if send:
        console.step(f"emailing via {settings.smtp.host}")
        _send(settings, html, context["week_start"], resend, report)
    if context["refuse"] and report.exit_code == EXIT_OK:
        report.exit_code = EXIT_NEEDS_ATTENTION
    return report


def _send(settings: Settings, html: Path, week: str, resend: bool,
          report: ScorecardReport) -> None:
    """Email the rendered scorecard; who got it, who already had it, or why it stopped."""
    try:
        delivery = deliver_scorecard(settings, html, week, resend=resend)
    except SendFailed as exc:
        delivery = exc.delivery
        report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
    except ScorecardError as exc:
        report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
        return
    report.sent_to, report.skipped = delivery.sent, delivery.skipped
