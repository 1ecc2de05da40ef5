"""The shape every stage returns to the command line, the DAGs and the pipeline.

A stage returns an object with `to_dict()` (the `--json` payload), `summary()` (what a person reads)
and `exit_code` (0 ok, 1 the work ran but needs a person). The CLI prints one or the other.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

EXIT_OK = 0
EXIT_NEEDS_ATTENTION = 1
EXIT_USAGE = 2


@runtime_checkable
class StageReport(Protocol):
    @property
    def exit_code(self) -> int: ...

    def to_dict(self) -> dict: ...

    def summary(self) -> str: ...


class UsageError(Exception):
    """Bad usage or configuration: exit code 2, message goes to stderr."""


class WorkBlocked(Exception):
    """The work could not start for a reason outside the user's command (another process holds
    the warehouse): exit code 1 with one line; trying again later is the fix."""
