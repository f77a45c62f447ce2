"""What storage hands back, and how a dispute becomes a row and back (the same for every backend:
moments, dates and amounts are stored as text, flags as 0/1)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from flows.dispute import Dispute
from flows.steps import FACTS

Row = Mapping[str, Any]  # aiosqlite.Row and asyncpg.Record both read by column name

ANSWER_COLUMNS = ("state", "version", "reason", "received", "defect", "solution", "order_number",
                  "order_total", "currency", "shipped_on", "protection_ends_on", "amount",
                  "refund_full", "evidence_done", "unknown", "editing", "opened_at", "window_started_at",
                  "decision", "decided_at", "return_agreed_at", "returned_at", "refund_started_at",
                  "seller_answer", "seller_answered_at", "escalated_at", "reminders_off", "tracking", "facts")
MOMENTS = ("opened_at", "window_started_at", "decided_at", "return_agreed_at", "returned_at", "refund_started_at",
           "seller_answered_at", "escalated_at")


@dataclass(frozen=True)
class UserRecord:
    id: int
    locale: str | None
    focused_dispute_id: int | None
    timezone: str | None = None


@dataclass(frozen=True)
class ReminderRecord:
    id: int
    dispute_id: int
    user_id: int
    kind: str
    due_at: datetime
    deadline_at: datetime
    for_state: str
    snoozed: bool
    status: str
    attempts: int


def now() -> str:
    return moment(datetime.now(timezone.utc))


def moment(value: datetime) -> str:
    """UTC, fixed width: these strings sort like the moments they stand for."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def from_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def iso(value: date | Decimal | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return moment(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def reminder(r: Row) -> ReminderRecord:
    return ReminderRecord(r["id"], r["dispute_id"], r["user_id"], r["kind"], from_moment(r["due_at"]),
                          from_moment(r["deadline_at"]), r["for_state"], bool(r["snoozed"]), r["status"],
                          r["attempts"])


def row_values(d: Dispute) -> dict:
    return {
        "state": d.state, "version": d.version, "reason": d.reason,
        "received": None if d.received is None else int(d.received),
        "defect": d.defect, "solution": d.solution, "order_number": d.order_number,
        "order_total": iso(d.order_total), "currency": d.currency,
        "shipped_on": iso(d.shipped_on), "protection_ends_on": iso(d.protection_ends_on),
        "amount": iso(d.amount), "refund_full": int(d.refund_full), "evidence_done": int(d.evidence_done),
        "unknown": json.dumps(sorted(d.unknown)), "editing": int(d.editing),
        **{m: iso(getattr(d, m)) for m in MOMENTS}, "decision": d.decision,
        "seller_answer": d.seller_answer, "reminders_off": int(d.reminders_off), "tracking": d.tracking,
        "facts": json.dumps({name: iso(getattr(d, name)) if kind in ("date", "decimal") else getattr(d, name)
                             for name, kind in FACTS.items()}, sort_keys=True),
    }


def dispute(r: Row) -> Dispute:
    return Dispute(
        id=r["id"], user_id=r["user_id"], state=r["state"], version=r["version"], reason=r["reason"],
        received=None if r["received"] is None else bool(r["received"]),
        defect=r["defect"], solution=r["solution"], order_number=r["order_number"],
        order_total=Decimal(r["order_total"]) if r["order_total"] else None, currency=r["currency"],
        shipped_on=date.fromisoformat(r["shipped_on"]) if r["shipped_on"] else None,
        protection_ends_on=date.fromisoformat(r["protection_ends_on"]) if r["protection_ends_on"] else None,
        amount=Decimal(r["amount"]) if r["amount"] else None, refund_full=bool(r["refund_full"]),
        evidence_done=bool(r["evidence_done"]), unknown=set(json.loads(r["unknown"])),
        editing=bool(r["editing"]), decision=r["decision"], reminders_off=bool(r["reminders_off"]),
        seller_answer=r["seller_answer"], number=r["number"], asked_message_id=r["asked_message_id"],
        **{m: from_moment(r[m]) for m in MOMENTS}, tracking=r["tracking"],
        **_facts(r["facts"]),
    )


def _facts(text: str | None) -> dict:
    """The step table's facts (flows/steps.py FACTS) from their JSON column; unknown keys are ignored."""
    stored = json.loads(text or "{}")
    facts: dict = {}
    for name, kind in FACTS.items():
        value = stored.get(name)
        if value is None:
            continue
        facts[name] = (date.fromisoformat(value) if kind == "date" else Decimal(value) if kind == "decimal"
                       else bool(value) if kind == "bool" else str(value))
    return facts
