"""`sfe serve`: start the Streamlit dashboards on the published snapshot.

The app runs in its own process (`streamlit run dashboards/app.py`); settings travel through the
same `SFE_*` environment variables `sfe.config.load_settings` reads, so the app sees exactly the
warehouse the command line was pointed at.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from dashboards.users import load_users, users_file
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError

APP = Path(__file__).resolve().parent / "app.py"
DEFAULT_HOST = "127.0.0.1"  # this machine only; other addresses need login (check_binding)
LOOPBACK_NAMES = {"localhost"}


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for 0.0.0.0, '' (every interface)."""
    if not address:
        return False
    if address.strip().lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def server_env(settings: Settings, config_file: Path | None = None) -> dict[str, str]:
    """The environment that hands `settings` to the app process."""
    env = dict(os.environ)
    env["SFE_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    if settings.inbox_dir is not None:
        env["SFE_INBOX"] = str(Path(settings.inbox_dir).resolve())
    env["SFE_MAPPINGS_DIR"] = str(Path(settings.mappings_dir).resolve())
    env["SFE_COMPANY_NAME"] = settings.company_name
    env["SFE_ACCESS_CONTROL"] = "true" if settings.access_control else "false"
    if config_file is not None:
        env["SFE_CONFIG"] = str(Path(config_file).resolve())
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    # the server must not take a client's X-Forwarded-For as its address: only sfe.toml's
    # trusted_proxies decide whose header names the user (dashboards.auth)
    env["FORWARDED_ALLOW_IPS"] = ""
    return env


def server_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            # the table toolbar's CSV export is not formula-safe; pages offer escaped downloads
            "--client.disableDataExport", "true",
            # nothing leaves the machine and no Deploy button (also in .streamlit/config.toml)
            "--client.toolbarMode", "minimal"]


def check_binding(settings: Settings, host: str) -> None:
    """Refuse to listen beyond this machine with login off, or with login on and no users."""
    if is_loopback(host):
        return
    if not settings.access_control:
        raise UsageError(f"refusing to listen on {host} with login off: anyone who can reach "
                         "this machine would see every number and could record decisions. Set "
                         "`access_control = true` in sfe.toml and create users with "
                         "`sfe users add NAME --role ROLE`, or keep --host 127.0.0.1")
    if not load_users(settings):
        raise UsageError(f"login is on but {users_file(settings)} has no users, so nobody could "
                         "sign in; create the first with `sfe users add NAME --role sales_ops`")


def _port_free(port: int, host: str = DEFAULT_HOST) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_server(settings: Settings, port: int = 8501, config_file: Path | None = None,
                 quiet: bool = True, host: str = DEFAULT_HOST) -> subprocess.Popen:
    """Start the dashboards in the background; pair with `wait_until_ready` and terminate()."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a valid TCP port")
    check_binding(settings, host)
    if not _port_free(port, host):
        raise UsageError(f"port {port} is already in use on {host}; pick another with --port N")
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(server_command(port, host), env=server_env(settings, config_file),
                            cwd=str(APP.parent.parent), stdout=out, stderr=out)


def wait_until_ready(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None,
                     host: str = DEFAULT_HOST) -> bool:
    """Poll Streamlit's health endpoint until it answers (True) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    if host in ("", "0.0.0.0", "::"):  # every interface: ask through this machine's own
        host = DEFAULT_HOST
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    return False


@dataclass
class ServeReport:
    port: int
    url: str
    published_db: str
    published: bool
    exit_code: int = EXIT_OK
    note: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"url": self.url, "port": self.port, "published_db": self.published_db,
                "published": self.published, "note": self.note, "exit_code": self.exit_code}

    def summary(self) -> str:
        return f"dashboards stopped ({self.url}){': ' + self.note if self.note else ''}"


def serve_command(settings: Settings, args: argparse.Namespace, console: Console) -> ServeReport:
    """Run the dashboards in the foreground until Ctrl-C."""
    port = int(getattr(args, "port", 8501) or 8501)
    host = getattr(args, "host", None) or DEFAULT_HOST
    url = f"http://{'localhost' if is_loopback(host) else host}:{port}"
    report = ServeReport(port=port, url=url, published_db=str(settings.published_db),
                         published=settings.published_db.exists())
    if not report.published:
        console.warn(f"nothing is published at {settings.published_db} yet; the dashboards will "
                     "say so until `sfe run` publishes a snapshot")
    proc = start_server(settings, port, config_file=getattr(args, "config", None), quiet=False,
                        host=host)
    try:
        if not wait_until_ready(port, timeout=60, proc=proc, host=host):
            report.exit_code = EXIT_NEEDS_ATTENTION
            report.note = "the server did not come up; see the messages above"
            return report
        console.info(f"Dashboards: {url}   (published snapshot: {settings.published_db})")
        console.info("Press Ctrl-C to stop.")
        proc.wait()
        if proc.returncode not in (0, None, -15):
            report.exit_code = EXIT_NEEDS_ATTENTION
            report.note = f"streamlit exited with code {proc.returncode}"
    except KeyboardInterrupt:
        report.note = "stopped"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return report
