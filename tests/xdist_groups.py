"""Make `pytest.mark.xdist_group` work again under pytest 9.2 with pytest-xdist 3.8.

pytest 9.2 builds `item.nodeid` from a structured `item._id`; xdist's `--dist loadgroup` still
writes the group suffix (`…::test@dbt_build`) into the legacy `item._nodeid`, which nothing reads
any more, so every group is silently ignored and grouped tests spread over the workers
(pytest-dev/pytest-xdist#1386: each worker then built the session dbt warehouse). This plugin
copies the suffixed id into `_id`, as the upstream fix does; a no-op on pytest < 9.2.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)  # after xdist's worker hook has written `_nodeid`
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        legacy = getattr(item, "_nodeid", None)
        structured = getattr(item, "_id", None)
        if isinstance(legacy, str) and structured is not None and legacy != item.nodeid:
            item._id = type(structured).parse(legacy)
