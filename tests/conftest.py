"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py.

Heavy session/module fixtures (set-up over HEAVY_SECONDS) are logged per xdist worker into the
run's shared temp dir, and the end of the run lists them: the proof that each is built once
per run (tests/build_once.py; xdist_group per module for module fixtures).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path

import pytest

from sfe.config import Settings, load_settings
from tests.build_once import LOG, run_dir

HEAVY_SECONDS = 3.0
HEAVY_LOG = "heavy-fixtures.log"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a throwaway warehouse under tmp_path, ignoring any sfe.toml and SFE_* env."""
    return load_settings(env={}, data_dir=tmp_path / "data")


def slow_modules_first(items: list[pytest.Item]) -> None:
    """Modules holding a `slow` test run first, each kept whole (a module fixture is set up
    once) and in its order. Under `--dist loadgroup` xdist hands out groups by size and then
    single tests in this order: a two-minute test collected last ran alone at the end while
    the other worker sat idle."""
    slow = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow)  # stable: modules stay contiguous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_modules_first(items)


def pytest_configure(config: pytest.Config) -> None:
    # a plugin, not conftest hooks: a session fixture's set-up runs on the Session node, which
    # does not see the hooks of a conftest below the root
    config.pluginmanager.register(HeavyFixtureLog(), "sfe-heavy-fixtures")
    if not config.pluginmanager.has_plugin("tests.xdist_groups"):
        config.pluginmanager.import_plugin("tests.xdist_groups")


class HeavyFixtureLog:
    """Logs heavy session/module fixture set-ups; lists them at the end of the run."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest
                             ) -> Generator[None, None, None]:
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        if fixturedef.scope not in ("session", "module") or seconds < HEAVY_SECONDS:
            return
        name = fixturedef.argname
        if fixturedef.scope == "module":
            name = f"{request.module.__name__}::{name}"
        if hasattr(request, "param"):
            name += f"[{request.param}]"
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        directory = run_dir(request.config._tmp_path_factory)  # pytest's own factory
        with (directory / HEAVY_LOG).open("a", encoding="utf-8") as log:
            log.write(f"{name}\t{worker}\t{seconds:.1f}\n")

    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:
        """In the controller (or a serial run): each heavy fixture, how often it was set up."""
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return
        directory = config._tmp_path_factory.getbasetemp()
        log = directory / HEAVY_LOG
        if not log.exists():
            return
        rows = [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]
        counts = Counter(name for name, _, _ in rows)
        terminalreporter.section(f"heavy fixtures (set-up over {HEAVY_SECONDS:.0f} s)")
        for name, count in sorted(counts.items()):
            where = ", ".join(f"{w} {s} s" for n, w, s in rows if n == name)
            terminalreporter.write_line(f"{count}x {name}: {where}")
        for built in sorted(directory.glob(f"once-*/{LOG}")):
            builds = len(built.read_text(encoding="utf-8").splitlines())
            terminalreporter.write_line(f"build_once {built.parent.name}: built {builds}x")
