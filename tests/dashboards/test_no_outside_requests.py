"""No request leaves the machine: no usage statistics, no favicon from fonts.gstatic.com, no
Deploy button; both `sfe serve` and a bare `streamlit run` from the repository read the config."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import streamlit
from streamlit.testing.v1 import AppTest

from dashboards import serve
from tests.dashboards.conftest import APP

ROOT = APP.parent.parent


def test_streamlit_config_turns_off_usage_stats_and_the_deploy_button():
    doc = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert doc["browser"]["gatherUsageStats"] is False
    assert doc["client"]["toolbarMode"] == "minimal"


def test_streamlit_started_in_the_repository_reads_that_config():
    """`streamlit run dashboards/app.py` and `sfe serve` (cwd = repository) both start there."""
    probe = ("from streamlit import config; config.get_config_options(force_reparse=True); "
             "print(config.get_option('client.toolbarMode'), "
             "config.get_option('browser.gatherUsageStats'))")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, text=True,
                         capture_output=True, check=True).stdout.split()
    assert out == ["ToolbarMode.MINIMAL", "False"] or out == ["minimal", "False"]


def test_serve_passes_the_same_settings_on_its_command_line():
    cmd = serve.server_command(8765)
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "minimal"


def test_the_favicon_is_not_fetched_from_google_fonts(monkeypatch, published):
    """A `:material/…:` page icon becomes https://fonts.gstatic.com/…/24px.svg in the browser;
    an emoji becomes an inline data: SVG."""
    from streamlit.commands.page_config import _get_favicon_string

    icons: list[object] = []
    real = streamlit.set_page_config

    def spy(*args, **kwargs):
        icons.append(kwargs.get("page_icon"))
        return real(*args, **kwargs)

    monkeypatch.setattr(streamlit, "set_page_config", spy)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert icons, "the entry file sets no page icon: Streamlit's default is fine, but say so"
    for icon in icons:
        assert not _get_favicon_string(icon).startswith(":material"), icon
