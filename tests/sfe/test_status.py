"""`sfe status` reads like a sentence, not a dict dump."""

from __future__ import annotations

from orchestration.status import StatusReport

BASE = {"working_db": "w.duckdb", "published_db": "p.duckdb", "gate_status": "failed",
        "last_run": {"run_id": "r2", "command": "run", "status": "failed", "gate_status": "failed",
                     "finished_at": "2026-11-23T09:15:02.123456"}}


def test_a_stale_snapshot_says_what_is_shown_and_why() -> None:
    text = StatusReport({**BASE, "published": {
        "published": True, "data_status": "stale", "snapshot_id": "S1", "run_id": "r1",
        "as_of_date": "2026-10-31", "published_at": "2026-11-20T08:00:00.5",
        "reason": "blocking quality checks did not pass in run r2: flow_completeness"}}).summary()
    assert "finished 2026-11-23 09:15:02 (server time)" in text
    assert ("published:    snapshot S1, data as of 2026-10-31, published 2026-11-20 08:00:00 UTC "
            "(gate run r1)") in text
    assert "data status:  stale — the dashboards show this last good snapshot because: blocking" \
        in text
    assert "=" not in text


def test_nothing_published_says_why() -> None:
    text = StatusReport({**BASE, "published": {"published": False, "data_status": "none",
                                               "reason": "no quality check has run"}}).summary()
    assert "published:    nothing — no quality check has run" in text
