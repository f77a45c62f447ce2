"""The reminder engine: one loop delivers the outbox (the ``reminders`` table).

Rows are planned in the same transaction as the state change that causes
them (bot.conversation). The loop sleeps until the next due row (an indexed
MIN), or until a new plan wakes it; claims due rows with a lease; re-checks
that the dispute still wants each one; and sends through the rate-limited
sender, one at a time by default, renewing the claim once its turn to send has
come (a claim that ran out meanwhile was taken by another sender: it is given
up). A crash mid-send therefore means at most one duplicate. After downtime, several
overdue reminders of one kind collapse into one, worded for the real date.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from itertools import groupby

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot import metrics
from bot.formatting import fmt_date
from bot.keyboards import ReminderSnooze
from bot.planning import reminder_plan, zone
from bot.sender import DeliveryOutcome, RateLimitedSender
from bot.services import Services
from bot.stages import stage_keyboard
from bot.views import verdict_text
from bot.storage import ReminderRecord
from flows.calendar import next_daytime
from flows.choices import N_
from flows.dispute import Dispute
from flows.eligibility import assess

log = logging.getLogger(__name__)

# What each reminder is about; "{when}" is "in 3 days (Nov 24)", "today", "yesterday (Nov 20)".
# Before opening, a reminder says what the summary would say that day (flows.eligibility): one verdict.
BEFORE_OPENING = frozenset({"protection", "can_open", "last_chance"})
MESSAGES = {
    "seller_window": N_("⏰ <b>The seller's time to answer ends {when}.</b> What did the seller do?"),
    "return_shipping": N_("📦 <b>Ship the item back by {when}</b> and enter the tracking number in the dispute. "
                          "If you miss this date, the money goes to the seller."),
    "appeal": N_("📣 <b>The appeal window ends {when}.</b> Appeal on the dispute page if you disagree."),
    "survey": N_("📝 <b>The dispute survey closes {when}.</b> Tell AliExpress what went wrong."),
}
# Once the deadline has passed (a "when it ends" reminder, or one sent late).
PASSED = {
    "seller_window": N_("⏰ <b>The seller's time to answer ended {when}.</b> What did the seller do?"),
    "refund_check": N_("💳 <b>The refund should have arrived {when}.</b> Is the money there?"),
    "return_check": N_("📦 <b>Has the seller confirmed receipt of your return?</b> If the tracking shows it "
                       "delivered and the seller refuses or stays silent, escalate to AliExpress with your tracking "
                       "number."),
    "return_shipping": N_("📦 <b>The return deadline was {when}.</b> If you shipped the item, add the tracking "
                          "number in the dispute now."),
    "appeal": N_("📣 <b>The appeal window closed {when}.</b>"),
    "survey": N_("📝 <b>The dispute survey closed {when}.</b>"),
}


def when_text(deadline: datetime, now: datetime, tz, locale: str) -> str:
    """In the i18n context: "in 3 days (Nov 24)", "today", "yesterday (Nov 20)"."""
    days = (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
    day = fmt_date(deadline.astimezone(tz).date(), locale)
    if days == 0:
        return _("today")
    if days == 1:
        return _("tomorrow ({date})").format(date=day)
    if days == -1:
        return _("yesterday ({date})").format(date=day)
    if days > 1:
        return ngettext("in {n} day ({date})", "in {n} days ({date})", days).format(n=days, date=day)
    return ngettext("{n} day ago ({date})", "{n} days ago ({date})", -days).format(n=-days, date=day)


class ReminderEngine:
    def __init__(self, svc: Services, sender: RateLimitedSender, *, lease_seconds: float = 120,
                 batch: int = 200, max_sleep: float = 300, concurrency: int = 1) -> None:
        self.svc, self.sender = svc, sender
        self.lease_seconds, self.batch, self.max_sleep = lease_seconds, batch, max_sleep
        # Reminders in flight at once. A process killed mid-send leaves each one in flight sent but not
        # marked, and it goes again when its claim runs out: 1 (the default) keeps that to at most one
        # duplicate per crash, at a rate of at most one reminder per round trip to Telegram per process
        # (docs/rules.md, "A reminder goes out once").
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = False

    def stop(self) -> None:
        """Asks run() to return after the delivery in progress (a cancel mid-send
        would leave a message sent but not marked, and send it again next start)."""
        self._stopping = True
        self.svc.reminders_changed.set()

    async def run(self) -> None:
        """Delivers until stop()."""
        while not self._stopping:
            try:
                await self.tick()
            except Exception:  # a bad row must not stop every other reminder
                log.exception("reminder tick failed")
            await self._sleep_until_next()

    async def _sleep_until_next(self) -> None:
        wake = self.svc.reminders_changed
        wake.clear()
        nxt = await self.svc.store.next_reminder_at()
        delay = self.max_sleep if nxt is None else (nxt - self.svc.clock.now()).total_seconds()
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), min(delay, self.max_sleep))
        except TimeoutError:
            pass

    async def tick(self) -> int:
        """Handles every reminder due now; returns how many were claimed."""
        total = 0
        while not self._stopping and (claimed := await self.svc.store.claim_reminders(
                self.svc.clock.now(), lease=self.lease_seconds, limit=self.batch)):
            total += len(claimed)
            metrics.reminder("due", len(claimed))
            # Overdue after downtime: one message per dispute and kind, the latest.
            claimed.sort(key=lambda r: (r.dispute_id, r.kind, r.due_at))
            latest = []
            for _key, group in groupby(claimed, key=lambda r: (r.dispute_id, r.kind)):
                *older, last = list(group)
                for r in older:
                    await self.svc.store.finish_reminder(r.id, "skipped")
                    metrics.reminder("skipped")
                latest.append(last)
            await asyncio.gather(*(self._deliver_one(r) for r in latest))
            if len(claimed) < self.batch:
                break
        return total

    async def _deliver_one(self, r: ReminderRecord) -> None:
        async with self._slots:
            if self._stopping:
                return  # the claim expires and the reminder is taken again at the next start
            try:
                await self._deliver(r)
            except Exception:  # one bad row must not hold back the others
                log.exception("reminder %s failed", r.id)
                metrics.reminder("retried")
                await self.svc.store.retry_reminder(r.id, self.svc.clock.now() + timedelta(minutes=5))

    async def _deliver(self, r: ReminderRecord) -> None:
        store, now = self.svc.store, self.svc.clock.now()
        d = await store.load_dispute(r.dispute_id)
        user = await store.get_user(r.user_id)
        locale = (user.locale if user else None) or self.svc.config.bot.default_locale
        if d is None or user is None or not self._still_wanted(r, d, locale, user.timezone):
            await store.finish_reminder(r.id, "cancelled")
            metrics.reminder("cancelled")
            return
        if now - r.deadline_at > timedelta(days=self.svc.policy.reminder_stale_days):
            await store.finish_reminder(r.id, "skipped", error="deadline long past")
            metrics.reminder("skipped")
            return
        tz = zone(user.timezone, locale)
        policy = self.svc.policy
        if not policy.daytime_start <= now.astimezone(tz).time() < policy.daytime_end:
            # Night where the buyer is: wait for the morning, unless the deadline comes first.
            morning = next_daytime(now, tz, policy.daytime_start, policy.daytime_end)
            if morning < r.deadline_at:
                await store.retry_reminder(r.id, morning)
                metrics.reminder("deferred")
                return
        text, markup = self.render(r, d, locale, tz, now)
        lease = timedelta(seconds=self.lease_seconds)

        async def still_ours() -> bool:  # once its turn to send has come (bot.budget.background)
            return await store.renew_reminder(r.id, r.attempts, self.svc.clock.now() + lease)

        result = await self.sender.send_message(d.user_id, text, reply_markup=markup, still_ours=still_ours)
        if result.outcome is DeliveryOutcome.NOT_OURS:
            log.info("reminder %s: its claim ran out while it waited its turn; another sender has it", r.id)
        elif result.outcome is DeliveryOutcome.SENT:
            await store.finish_reminder(r.id, "sent")
            metrics.reminder("sent")
        elif result.outcome in (DeliveryOutcome.BLOCKED, DeliveryOutcome.REJECTED):
            await store.finish_reminder(r.id, "failed", error=result.error)
            metrics.reminder("failed")
        else:
            # attempts counts this one (the claim raised it): 30 s, 60 s, 120 s … up to an hour.
            backoff = result.retry_after or min(30 * 2 ** max(r.attempts - 1, 0), 3600)
            await store.retry_reminder(r.id, now + timedelta(seconds=backoff), error=result.error)
            metrics.reminder("retried")

    def _still_wanted(self, r: ReminderRecord, d: Dispute, locale: str, tz_name: str | None) -> bool:
        if d.reminders_off:
            return False
        if r.snoozed:  # "remind me tomorrow" holds while the dispute stays in that stage
            return d.state == r.for_state
        tz = zone(tz_name, locale)
        # Planned at due time means still in the plan now (computed from the due moment).
        return any(p.kind == r.kind and p.due_at == r.due_at
                   for p in reminder_plan(d, self.svc, tz, locale, r.due_at - timedelta(seconds=1)))

    def render(self, r: ReminderRecord, d: Dispute, locale: str, tz, now: datetime):
        """The reminder's text and buttons, rendered as a handler would: in the buyer's locale."""
        with self.svc.i18n.context(), self.svc.i18n.use_locale(locale):
            if r.kind in BEFORE_OPENING:
                day = now.astimezone(tz).date()
                text = verdict_text(assess(d, self.svc.policy, day), locale, day)
                text += "\n" + _("Everything you need is in the summary: /disputes")
            else:
                passed = r.deadline_at <= now and r.kind in PASSED
                template = PASSED[r.kind] if passed or r.kind not in MESSAGES else MESSAGES[r.kind]
                text = _(template).format(when=when_text(r.deadline_at, now, tz, locale))
            text += "\n" + _("Dispute #{id}").format(id=d.number)
            extra = [InlineKeyboardButton(text=_("⏰ Remind me tomorrow"),
                                          callback_data=ReminderSnooze(reminder_id=r.id).pack())]
            return text, stage_keyboard(d, extra=extra)
