"""Chaos, small: scripts/chaos.py with 8 buyers, one SIGKILL restart, 429s and 5xx.

The real bot runs as a process against testkit/fake_bot_api.py; the buyers play whole
disputes to "negotiating" while faults are injected, then the SQLite file is checked:
states the machine allows, no answer lost, no reminder lost, at most one duplicate per crash.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from chaos import run_chaos  # noqa: E402

USERS, KILLS = 8, 1


async def test_buyers_finish_their_disputes_through_crashes_and_api_faults(tmp_path: Path) -> None:
    report = await run_chaos(USERS, KILLS, seconds=45, seed=7, reminders=20, workdir=tmp_path)
    print("\n" + report.figures())
    details = "\n".join(report.failures[:20])
    assert report.finished == USERS, details
    assert report.kills == KILLS, details
    assert report.states_ok == report.disputes > 0, details
    assert report.answers_lost == 0 and report.answers_wrong == 0, details
    assert report.plans_ok == report.plans_checked == USERS, details
    assert report.reminders_seeded == 20 and report.reminders_sent == 20, details
    assert report.reminders_lost == 0, details
    assert report.duplicate_reminders <= report.kills, details
    assert report.injected_429 > 0 and report.injected_5xx > 0, details
    assert report.ok, details
