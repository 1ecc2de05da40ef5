"""What the user sees on the terminal: progress and messages on stderr, never on stdout.

stdout is reserved for `--json` output (one object) and human summaries, so scripts can parse
it. Stages receive a `Console` and call `step`, `track` and `info`; with `quiet` they print nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO, TypeVar

T = TypeVar("T")


@dataclass
class Console:
    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def _rich(self):  # imported lazily: rich costs start-up time on every command otherwise
        from rich.console import Console as RichConsole

        return RichConsole(file=self.stream, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        """Warnings print even with --quiet: they need a person."""
        print(f"warning: {message}", file=self.stream, flush=True)

    def step(self, message: str) -> None:
        if not self.quiet:
            print(f"==> {message}", file=self.stream, flush=True)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar on stderr (a plain count when stderr is not a terminal)."""
        if self.quiet:
            yield from items
            return
        if not self.stream.isatty():
            count = 0
            for item in items:
                count += 1
                yield item
            self.info(f"    {description}: {count} done")
            return
        from rich.progress import track

        yield from track(items, description=description, total=total,
                         console=self._rich(), transient=True)

    def table(self, title: str, columns: list[str], rows: list[list[object]]) -> str:
        """Render a small table as text (for summaries printed to stdout)."""
        from rich.console import Console as RichConsole
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        rc = RichConsole(width=120, record=True, file=_NullWriter())
        rc.print(table)
        return rc.export_text()


class _NullWriter:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
