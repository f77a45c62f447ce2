"""Chaos, small: scripts/chaos.py with 8 buyers, two SIGKILL restarts, faults and flood limits.

The real bot runs as a process against testkit/fake_bot_api.py (Telegram-like flood limits:
429 with retry_after past ~30/s or ~1/s per chat); the buyers play whole disputes to
"negotiating", forwarding a batch of seller messages and a .webp screenshot on the way, while
429s, 5xx and dropped connections are injected on sendMessage, editMessageText,
answerCallbackQuery, getFile and sendDocument. Then the SQLite file and the conversation are
checked: states the machine allows, no answer or evidence lost, no update swallowed, no saved
answer left without its next question, every buyer answered soon after the last fault, no
reminder lost, at most one duplicate per crash.
"""
from __future__ import annotations

import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from chaos import run_chaos  # noqa: E402

USERS, KILLS = 8, 2


async def test_buyers_finish_their_disputes_through_crashes_and_api_faults(tmp_path: Path) -> None:
    # The kills: one mid-way through the seeded reminders, one at a random point of the buyers'
    # progress, each when every update polling confirmed is recorded (careful_kills); the next
    # test kills right after polling confirmed a batch, and mid-handler.
    report = await run_chaos(USERS, KILLS, seconds=60, seed=7, reminders=20, burst_kill=False, careful_kills=True,
                             workdir=tmp_path)
    print("\n" + report.figures())
    details = "\n".join(report.failures[:20])
    assert report.finished == USERS, details
    assert report.kills == KILLS, details
    assert report.states_ok == report.disputes > 0, details
    assert report.answers_lost == 0 and report.answers_wrong == 0, details
    assert report.evidence_sent >= USERS * 11 and report.evidence_lost == 0, details
    assert report.evidence_stored == report.evidence_sent, details
    assert report.swallowed == 0 and report.updates_sent > report.evidence_sent, details
    assert report.stuck == 0, details
    assert 0 < report.max_delay <= report.delay_limit, details
    assert report.plans_ok == report.plans_checked == USERS, details
    assert report.reminders_seeded == 20 and report.reminders_sent == 20, details
    assert report.reminders_lost == 0, details
    assert report.duplicate_reminders <= report.kills, details
    assert report.injected_429 > 0 and report.injected_5xx > 0 and report.injected_net > 0, details
    faults = report.injected_by_method
    assert faults["editMessageText"] > 0 and faults["getFile"] + faults["sendDocument"] > 0, details
    assert report.ok, details


async def test_a_crash_right_after_a_batch_of_forwards_loses_none(tmp_path: Path) -> None:
    report = await run_chaos(1, 1, seconds=40, seed=3, reminders=0, burst=(10, 15), workdir=tmp_path)
    print("\n" + report.figures())
    details = "\n".join(report.failures[:5])
    assert report.kills == 1 and report.evidence_sent >= 11, details
    assert report.evidence_lost == 0 and report.swallowed == 0, details
    assert report.ok, details
