#!/usr/bin/env python
"""Chaos run: the real bot (``python -m bot``) under API faults, flood limits and SIGKILL restarts.

Starts testkit/fake_bot_api.py on 127.0.0.1 (with Telegram-like flood limits: 429 with a
``retry_after`` past ~30 sends/s for the bot or ~1/s per chat, short bursts allowed) and the
bot as a process against it, plays N simulated buyers through whole disputes concurrently
(/new → "Item not received" → tracking status → order number → total → shipping date → Buyer Protection →
evidence → Done → "I opened it on AliExpress" → "Today", i.e. state "negotiating"),
while injecting Bot API faults and killing the process with SIGKILL ``kills`` times (same
database on restart). Due reminders for other chats are seeded before the first start so the
crashes hit reminder delivery too.

Faults, each isolated (never two on one chat within 3 s: back to back they are an outage):
sendMessage 429 (anyone's, reminders too), 5xx and dropped connections; answerCallbackQuery
500; editMessageText and sendDocument 429 (retry_after 1-2), 5xx, dropped connections; getFile
502 and dropped connections. Kills: one mid-way through the seeded reminders, one as soon as
polling confirmed a buyer's batch of forwards (``burst_kill``), the others at random points of
the buyers' progress. ``careful_kills`` waits, before each kill, until every update polling
confirmed is recorded by the bot (the gap that once swallowed a whole batch, closed since the
bot stores updates on receipt and replays the ones killed before their commit); without it a
kill lands anywhere, mid-handler included.

Each buyer behaves like a person: reacts to the last message the bot sent them (taps the
button of its script, or types the answer the question asks for) after reading it for 1-1.5 s
(``think``; faster answers to a late re-ask are a separate, known gap in typed-answer handling),
and when the bot stays silent for ``patience`` s sends /disputes and taps "Open #". At the
evidence step they forward 10-30 seller messages at once, wait for the bot's "Saved" line,
send a .webp screenshot (the bot stores it, then makes an AliExpress-ready copy: getFile,
download, sendDocument), wait for "Photo saved" and tap Done.

At the end the bot gets SIGTERM and the SQLite file and the conversation are checked:

* every dispute is in a state of flows.machine.STATES, with the answers that state needs;
* answers_lost: each buyer's dispute is at least as far as the last question the bot asked
  them (and at least at that question's version), with exactly the answers typed;
* evidence_lost: every forwarded message and file sent is stored (the file as sent or as its
  AliExpress-ready copy);
* swallowed: updates the bot never handled (not in processed_updates), that got no reply (nothing
  in the chat before the buyer's next turn, no alert, no re-ask after the crash) and whose effect
  is not in the database;
* stuck: answers saved whose next question never came by itself (late is fine, e.g. after a
  restart; only "send /disputes" is not);
* max_answer_delay_after_last_fault: per buyer, from the last fault that struck them (a fault on
  a call to their chat or file, a flood-limit 429, a crash while they played) to the bot's next
  message to them; at most ``delay_limit`` s;
* each dispute's pending reminders are the plan of its state (a state never lacks its reminders);
* no reminder lost: every seeded due reminder is 'sent' and reached its chat; reminders not
  yet due were left alone; duplicates (a chat receiving it twice) at most one per crash;
* the process never exited by itself, logged no traceback outside a handler, and SIGTERM ends
  it with status 0.

    python scripts/chaos.py --users 30 --kills 3

prints one ``chaos: ...`` line ending in ACCEPT, or REJECT with exit status 1 (the reasons on
stderr; requests.log and the bot's logs in ``--workdir``). Injected 5xx go to the buyers' chats
only: a reminder answered with a 5xx is retried after a minute by design (bot.reminders
backoff), longer than a run; 429s and crashes hit reminders too.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import math
import random
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.config import load_config  # noqa: E402
from bot.planning import zone  # noqa: E402
from bot.storage.records import dispute as _dispute  # noqa: E402
from flows.calendar import HOLIDAY_COUNTRY  # noqa: E402
from flows.steps import NAMES as STEPS  # noqa: E402
from flows.machine import STATES  # noqa: E402
from flows.reminders import plan  # noqa: E402
from testkit.fake_bot_api import SENT_METHODS, APIError, Dropped, FakeBotAPI, RateLimits  # noqa: E402
from testkit.processes import BotProcess, bot_env  # noqa: E402
from testkit.seeding import BASE_UID as SEEDED_BASE, moment, seed  # noqa: E402

STATE_NAMES = frozenset(s["name"] for s in STATES)
SIM_BASE = 20_000
LOCALE = "en"
# The path of an "Item not received" buyer, up to the goal.
PATH = ("reason", "tracking", "order_number", "order_total", "shipped_on", "protection", "evidence",
        "summary", "opening", "negotiating")
GOAL = "negotiating"
# What each screen must say (a step's buttons under another step's text would be a bug).
SCREEN_TEXT = {
    "reason": "What went wrong", "tracking": "What does the tracking", "order_number": "order number", "order_total": "How much did you pay",
    "shipped_on": "When did the seller ship", "protection": "Buyer Protection timer",
    "amount": "How much do you ask", "evidence": "Now your evidence", "summary": "Explanation for AliExpress",
    "opening": "When did you open the dispute", "negotiating": "The seller has until",
}
# Button answers of the script, by step (callback data "ans:<dispute>:<version>:<step>:<value>").
TAPS = {"reason": "not_received", "tracking": "customs", "evidence": "done", "opening": "d0"}
ORDER_TOTAL = "25.90"  # typed with its currency ("$25.90"): a bare number would ask the currency
PROTECTION_DAYS = 30
MESSAGE_ID = "__chaos_message_id"  # the id the fake gave a sent message, kept on its params
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
HANDLER_ERROR = re.compile(r" ERROR bot\.routers\.fallback: update \d+ failed$")
# Successful calls of a method between two injected faults of one kind.
FAULT_SPACING = 5
# Seconds after a fault before another may strike the same chat (see ChaosBotAPI._struck_lately).
ISOLATION = 3.0
T0 = time.monotonic()  # trail timestamps count from here

CONFIG = """\
[bot]
polling_timeout = 1
flood_limit = 100000
album_settle_seconds = 0.2

[reminders]
global_per_second = {rate}
per_chat_per_second = 1
lease_seconds = {lease}

# Sends are paced as shipped ([sending]: 25/s, per chat a burst of 4 then 1/s): the fake
# Bot API answers 429 like Telegram past ~30/s or ~1/s per chat.

[policy]
daytime_start = 00:00:00
daytime_end = 23:59:59
"""


# ------------------------------------------------------------------ the fake, with chat-targeted faults
DROP = "network"  # a fault that drops the connection instead of answering


@dataclass
class Hit:
    """An injected fault that struck a request."""
    index: int          # of the request in fake.requests
    at: float
    kind: str
    chat_id: int | None
    file_id: str | None


class ChaosBotAPI(FakeBotAPI):
    """FakeBotAPI that fails the next call of a method (to some chats, or anyone's) with an
    error or a dropped connection, records each hit, and remembers the message_id it gave
    each sent message (a tap must name the message it was on)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._targeted: dict[str, deque[tuple[frozenset[int] | None, APIError | str, str]]] = defaultdict(deque)
        self.hits: list[Hit] = []

    def fail_next_for(self, method: str, chats: set[int] | None, *, status: int | None = None,
                      description: str = "", retry_after: int | None = None, kind: str = "") -> None:
        """``status`` None drops the connection; ``chats`` None: anyone's next call."""
        if status is None:
            fault: APIError | str = DROP
        else:
            if not description:
                description = (f"Too Many Requests: retry after {retry_after}" if status == 429
                               else HTTPStatus(status).phrase)
            fault = APIError(status, description, retry_after)
        self._targeted[method].append((frozenset(chats) if chats is not None else None, fault, kind or method))

    def pending_faults(self, kind: str) -> int:
        """Injected faults of ``kind`` not yet hit."""
        return sum(k == kind for queue in self._targeted.values() for _, _, k in queue)

    def _dispatch(self, method: str, p: dict) -> Any:
        queue = self._targeted.get(method)
        chat = p.get("chat_id")
        if queue and (queue[0][0] is None or chat in queue[0][0]) and not self._struck_lately(chat):
            _, fault, kind = queue.popleft()
            # No await between recording the request and dispatching it: it is the last one.
            self.hits.append(Hit(len(self.requests) - 1, time.monotonic(), kind, p.get("chat_id"), p.get("file_id")))
            if fault == DROP:
                raise Dropped()
            raise fault
        return super()._dispatch(method, p)

    def _struck_lately(self, chat: Any) -> bool:
        """Faults are isolated: one never strikes a chat struck less than ISOLATION s before (it
        waits for the next call to another chat). Back-to-back faults on one chat, a reply and
        its retry, are an outage, where the bot by design gives up and says "send /disputes"."""
        if chat is None:
            return False
        now = time.monotonic()
        return any(h.chat_id == chat and now - h.at < ISOLATION for h in reversed(self.hits[-50:]))

    def _bot_message(self, p: dict, **content: Any) -> dict:
        msg = super()._bot_message(p, **content)
        p[MESSAGE_ID] = msg["message_id"]
        return msg


class Mailroom:
    """Sorts the fake's successful sendMessage calls into per-chat inboxes, incrementally."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self._cursor = 0
        self.inbox: dict[int, list[tuple[int, dict]]] = defaultdict(list)

    def pump(self) -> None:
        # A sendMessage is answered (status set) in the same step the fake records it;
        # only getUpdates stays pending, and it is of no interest here.
        requests = self.fake.requests
        while self._cursor < len(requests):
            r = requests[self._cursor]
            if r.method == "sendMessage" and r.status == 200:
                self.inbox[r.params.get("chat_id")].append((self._cursor, r.params))
            self._cursor += 1

    def since(self, chat_id: int, index: int) -> list[tuple[int, dict]]:
        self.pump()
        box = self.inbox.get(chat_id, [])
        return [m for m in box if m[0] >= index]


# ------------------------------------------------------------------ what a buyer sees
@dataclass
class Screen:
    kind: str                  # step | list | none | error | other
    step: str | None = None
    dispute_id: int | None = None
    version: int | None = None
    data: list[str] = field(default_factory=list)
    text: str = ""
    params: dict | None = None
    at: float = 0.0            # when the bot sent it


def read_screen(params: dict) -> Screen:
    markup = params.get("reply_markup") or {}
    data = [b.get("callback_data") or "" for row in markup.get("inline_keyboard", []) for b in row]
    text = params.get("text", "") or ""
    screen = Screen("other", data=data, text=text, params=params)
    parts = [d.split(":") for d in data]
    for p in parts:  # a question: its answer buttons name the step
        if p[0] == "ans" and len(p) == 5 and p[1].isdigit() and p[2].isdigit():
            screen.kind, screen.step, screen.dispute_id, screen.version = "step", p[3], int(p[1]), int(p[2])
            return screen
    for action, step in (("open_on_aliexpress", "summary"), ("seller_offer", "negotiating")):
        for p in parts:
            if p[0] == "nav" and len(p) == 4 and p[3] == action:
                screen.kind, screen.step, screen.dispute_id, screen.version = "step", step, int(p[1]), int(p[2])
                return screen
    if any(p[0] == "open" for p in parts):
        screen.kind = "list"
    elif "no disputes yet" in text or "no dispute in progress" in text:
        screen.kind = "none"
    elif "Something went wrong" in text:
        screen.kind = "error"
    return screen


@dataclass
class Action:
    """One update a buyer sent, and what it should leave in the database."""
    kind: str                   # answer | forward | photo | other
    what: str
    index: int                  # len(fake.requests) when it was sent: the bot's replies come after
    at: float
    turn: int                   # the items of one batch share a turn; a reply to any answers them all
    dispute_id: int | None = None
    step: str | None = None     # answer: the step it answers
    evidence: str | None = None  # forward: its text; photo: the file_unique_id given to it
    callback_id: str | None = None
    recovery: bool = False
    update_id: int | None = None


@dataclass
class Buyer:
    uid: int
    rng: random.Random
    fake: ChaosBotAPI
    mail: Mailroom
    patience: float
    today: date
    think_range: tuple[float, float] = (1.0, 1.5)
    burst_range: tuple[int, int] = (10, 30)
    image: bytes = b""
    order_number: str = ""
    shipped_on: date | None = None
    action_at: int = 0                     # request index of the last action
    dispute_id: int | None = None
    confirmed: dict[int, tuple[int, int]] = field(default_factory=dict)  # dispute -> (path index, version)
    protection_ends: set[date] = field(default_factory=set)
    finished: bool = False
    started_at: float | None = None
    finished_at: float | None = None
    actions: int = 0
    recoveries: int = 0
    log: list[Action] = field(default_factory=list)
    evidence_sent_for: set[int] = field(default_factory=set)
    files: set[str] = field(default_factory=set)  # file_ids this buyer sent
    anomalies: list[str] = field(default_factory=list)
    trail: deque = field(default_factory=lambda: deque(maxlen=40))
    _turn: int = 0

    def __post_init__(self) -> None:
        self.order_number = "81" + "".join(str(self.rng.randrange(10)) for _ in range(14))
        self.shipped_on = self.today - timedelta(days=self.rng.randint(15, 40))

    @property
    def furthest(self) -> int:
        return max((c[0] for c in self.confirmed.values()), default=-1)

    def _note(self, what: str) -> None:
        self.trail.append(f"{time.monotonic() - T0:7.2f}s {what}")

    # -------------------------------------------------------------- acting
    async def think(self) -> None:
        # A person reads the message before answering: at least a second (faster
        # answers than a person's are not what this run tests; see the module doc).
        await asyncio.sleep(self.rng.uniform(*self.think_range))

    def _record(self, kind: str, what: str, *, new_turn: bool = True, **extra: Any) -> Action:
        self.actions += 1
        self.action_at = len(self.fake.requests)
        if new_turn or not self.log:
            self._turn += 1
        a = Action(kind, what, self.action_at, time.monotonic(), self._turn, **extra)
        self.log.append(a)
        return a

    def send(self, text: str, *, kind: str = "other", step: str | None = None, recovery: bool = False) -> None:
        a = self._record(kind, text, dispute_id=self.dispute_id if kind == "answer" else None, step=step,
                         recovery=recovery)
        self._note(f"send {text!r}")
        a.update_id = self.fake.user_message(self.uid, text, language_code=LOCALE)

    def tap(self, screen: Screen, match: Callable[[list[str]], bool], *, step: str | None = None) -> bool:
        data = next((d for d in screen.data if match(d.split(":"))), None)
        if data is None:
            return False
        a = self._record("answer" if step else "other", data, dispute_id=screen.dispute_id if step else None,
                         step=step)
        self._note(f"tap {data}")
        a.update_id = self.fake.user_callback(self.uid, data, screen.params.get(MESSAGE_ID) or 1,
                                              language_code=LOCALE)
        a.callback_id = self.fake.updates[-1]["callback_query"]["id"]
        return True

    def recover(self, why: str) -> None:
        self.recoveries += 1
        self._note(f"recover ({why})")
        self.send("/disputes", recovery=True)

    async def send_evidence(self) -> None:
        """A batch of forwarded seller messages at once (as Telegram delivers a forward of many),
        then, once the bot acknowledged it, a .webp screenshot AliExpress won't take: the bot
        stores it and makes an AliExpress-ready copy (getFile, download, sendDocument)."""
        n = self.rng.randint(*self.burst_range)
        for i in range(n):
            text = f"Seller message {self.uid}-{i}: your parcel is on its way, please wait"
            a = self._record("forward", text[:24], new_turn=(i == 0), evidence=text)
            a.update_id = self.fake.user_message(self.uid, text, language_code=LOCALE, forward_origin={
                "type": "hidden_user", "sender_user_name": "Best Store", "date": 1_762_767_000 + i})
        self._note(f"forwarded {n} seller messages")
        await self.wait_text(lambda t: "Saved:" in t)
        await self.think()
        file_id = self.fake.add_file(self.image)
        self.files.add(file_id)
        a = self._record("photo", "screenshot.webp", evidence=f"u{file_id}")
        self._note(f"sent screenshot.webp ({file_id})")
        a.update_id = self.fake.user_message(self.uid, None, language_code=LOCALE, document={
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": "screenshot.webp",
            "mime_type": "image/webp", "file_size": len(self.image)})
        await self.wait_text(lambda t: "Photo saved" in t)
        await self.think()

    # -------------------------------------------------------------- seeing
    async def wait_text(self, match: Callable[[str], bool]) -> bool:
        """Waits up to ``patience`` s for a message since the last action that ``match``es."""
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            if any(match(p.get("text", "") or "") for _, p in self.mail.since(self.uid, self.action_at)):
                return True
            await asyncio.sleep(0.03)
        return False

    async def next_screen(self) -> Screen | None:
        """The latest message since the last action, once it is one to act on (after a
        human pause, re-read: the bot may have said more); None after ``patience`` s."""
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            msgs = self.mail.since(self.uid, self.action_at)
            if msgs:
                index, params = msgs[-1]
                screen = read_screen(params)
                screen.at = self.fake.requests[index].at
                if screen.kind != "other":
                    await self.think()
                    if self.mail.since(self.uid, index + 1):
                        continue  # more came in the meantime: look at the newest
                    return screen
            await asyncio.sleep(0.03)
        return None

    def confirm(self, screen: Screen) -> None:
        """The bot asked this step: it has committed every answer before it."""
        d, idx = screen.dispute_id, PATH.index(screen.step) if screen.step in PATH else None
        if idx is None:
            self.anomalies.append(f"asked step {screen.step!r}, off the not-received path")
            return
        if SCREEN_TEXT[screen.step] not in screen.text:
            self.anomalies.append(f"step {screen.step} shown with another text: {screen.text[:120]!r}")
        old = self.confirmed.get(d, (-1, -1))
        self.confirmed[d] = (max(old[0], idx), max(old[1], screen.version))
        self.dispute_id = d

    # -------------------------------------------------------------- the person
    async def play(self, arrive_after: float = 0.0, max_actions: int = 200) -> None:
        await asyncio.sleep(arrive_after)
        await self.think()
        self.started_at = time.monotonic()
        self.send("/new")
        while not self.finished and self.actions < max_actions:
            screen = await self.next_screen()
            if screen is None:
                self.recover("no answer")
                continue
            self._note(f"sees {screen.kind} {screen.step or ''} d{screen.dispute_id} v{screen.version}")
            if screen.kind == "error":
                self.recover("error message")
            elif screen.kind == "none":
                if self.confirmed:
                    self.anomalies.append(f"bot says {screen.text[:60]!r} after asking about dispute {self.dispute_id}")
                    self.recover("no dispute?")
                else:
                    self.send("/new")
            elif screen.kind == "list":
                ids = [int(d.split(":")[1]) for d in screen.data if d.startswith("open:")]
                target = self.dispute_id if self.dispute_id in ids else max(ids)
                self.tap(screen, lambda p, t=target: p[0] == "open" and p[1] == str(t))
            else:
                self.confirm(screen)
                await self.act(screen)

    async def act(self, screen: Screen) -> None:
        step = screen.step
        if step == GOAL:
            self.finished = True
            self.finished_at = screen.at or time.monotonic()  # nothing more is expected from then on
            self._note("finished")
        elif step == "evidence" and screen.dispute_id not in self.evidence_sent_for:
            self.evidence_sent_for.add(screen.dispute_id)
            await self.send_evidence()
            # Then "Done" on the question above the evidence.
            if not self.tap(screen, lambda p: p[0] == "ans" and p[3] == step and p[4] == TAPS[step], step=step):
                self.anomalies.append(f"no 'done' button on step evidence: {screen.data}")
                self.recover("missing button")
        elif step in TAPS:
            value = TAPS[step]
            if not self.tap(screen, lambda p: p[0] == "ans" and p[3] == step and p[4] == value, step=step):
                self.anomalies.append(f"no {value!r} button on step {step}: {screen.data}")
                self.recover("missing button")
        elif step == "summary":
            self.tap(screen, lambda p: p[0] == "nav" and p[3] == "open_on_aliexpress", step=step)
        elif step == "order_number":
            self.send(self.order_number, kind="answer", step=step)
        elif step == "order_total":
            self.send("$" + ORDER_TOTAL, kind="answer", step=step)
        elif step == "shipped_on":
            self.send(f"{self.shipped_on.month}/{self.shipped_on.day}/{self.shipped_on.year}", kind="answer",
                      step=step)
        elif step == "protection":
            self.protection_ends.add(datetime.now(timezone.utc).date() + timedelta(days=PROTECTION_DAYS))
            self.send(str(PROTECTION_DAYS), kind="answer", step=step)
        else:
            self.anomalies.append(f"unexpected step {step!r}")
            self.recover("unexpected step")


# ------------------------------------------------------------------ the report
@dataclass
class ChaosReport:
    users: int
    finished: int = 0
    disputes: int = 0
    states_ok: int = 0
    answers_lost: int = 0
    answers_wrong: int = 0
    evidence_sent: int = 0
    evidence_stored: int = 0
    evidence_lost: int = 0
    evidence_fixed: int = 0
    updates_sent: int = 0
    swallowed: int = 0
    stuck: int = 0
    max_delay: float = 0.0                 # after the last fault, the longest wait for the bot's next message
    delay_limit: float = 0.0
    plans_ok: int = 0
    plans_checked: int = 0
    reminders_seeded: int = 0
    reminders_sent: int = 0
    reminders_lost: int = 0
    duplicate_reminders: int = 0
    kills: int = 0
    kills_planned: int = 0
    injected_429: int = 0
    injected_5xx: int = 0
    injected_net: int = 0
    injected_by_method: Counter = field(default_factory=Counter)
    rate_limited_429: int = 0
    recoveries: int = 0
    handler_errors: int = 0
    tracebacks: int = 0
    elapsed: float = 0.0
    seed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def figures(self) -> str:
        faults = " ".join(f"{m}={n}" for m, n in sorted(self.injected_by_method.items()))
        return (f"chaos: users={self.users} finished={self.finished} kills={self.kills} "
                f"answers_lost={self.answers_lost} evidence_lost={self.evidence_lost} "
                f"(sent={self.evidence_sent} stored={self.evidence_stored} fixed={self.evidence_fixed}) "
                f"swallowed={self.swallowed}/{self.updates_sent} stuck={self.stuck} "
                f"max_answer_delay_after_last_fault={self.max_delay:.1f}s (limit {self.delay_limit:.0f}s) "
                f"states_ok={self.states_ok}/{self.disputes} reminders_lost={self.reminders_lost} "
                f"({self.reminders_sent}/{self.reminders_seeded} sent) duplicate_reminders={self.duplicate_reminders} "
                f"injected_429={self.injected_429} injected_5xx={self.injected_5xx} injected_net={self.injected_net} "
                f"[{faults}] rate_limited_429={self.rate_limited_429} elapsed={self.elapsed:.1f}s "
                f"{'ACCEPT' if self.ok else 'REJECT'} | answers_wrong={self.answers_wrong} "
                f"plans_ok={self.plans_ok}/{self.plans_checked} recoveries={self.recoveries} "
                f"handler_errors={self.handler_errors} tracebacks={self.tracebacks} seed={self.seed}")


# ------------------------------------------------------------------ the run
class Chaos:
    def __init__(self, users: int, kills: int, *, seconds: float, seed: int, reminders: int, patience: float,
                 workdir: Path, log: Callable[[str], None], think: tuple[float, float] = (1.0, 1.5),
                 burst: tuple[int, int] = (10, 30), delay_limit: float = 15.0, burst_kill: bool = True,
                 careful_kills: bool = False) -> None:
        self.n_users, self.n_kills, self.seconds = users, kills, seconds
        self.seed, self.n_reminders, self.patience = seed, reminders, patience
        self.think, self.burst, self.delay_limit, self.burst_kill = think, burst, delay_limit, burst_kill
        self.careful_kills = careful_kills
        self.rng = random.Random(seed)
        self.workdir, self.log = workdir, log
        self.db_path = workdir / "chaos.db"
        self.config_path = workdir / "chaos.toml"
        self.fake = ChaosBotAPI(rate_limits=RateLimits(per_second=30, burst=30, chat_per_second=1, chat_burst=5))
        self.mail = Mailroom(self.fake)
        self.report = ChaosReport(users=users, kills_planned=kills, seed=seed, delay_limit=delay_limit)
        self.kill_times: list[float] = []
        self.processes: list[BotProcess] = []
        self.watchers: list[asyncio.Task] = []
        self.bot: BotProcess | None = None
        self._expected_exit: set[int] = set()
        self.unexpected: list[str] = []
        self.buyers: list[Buyer] = []
        self.seeded_at: datetime | None = None
        self.started = 0.0

    # -------------------------------------------------------------- process
    async def start_bot(self, timeout: float = 30.0) -> None:
        since = len(self.fake.requests)
        bot = await BotProcess.start(self.env, self.fake)
        self.processes.append(bot)
        self.bot = bot
        self.watchers.append(asyncio.create_task(self._watch(bot)))
        deadline = time.monotonic() + timeout
        while not any(r.method == "getUpdates" for r in self.fake.requests[since:]):
            if bot.proc.returncode is not None:
                raise RuntimeError(f"bot exited during start\n{bot.describe()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no getUpdates within {timeout}s of a start\n{bot.describe()}")
            await asyncio.sleep(0.02)

    async def _watch(self, bot: BotProcess) -> None:
        code = await bot.proc.wait()
        if id(bot) not in self._expected_exit:
            tail = "\n".join(bot.stderr.splitlines()[-30:])
            self.unexpected.append(f"bot exited by itself with status {code}\n{tail}")

    def unrecorded(self) -> int:
        """Buyers' updates polling confirmed to Telegram (below the last getUpdates offset) that
        the bot has not recorded yet (processed_updates): a crash now would swallow them."""
        offset = next((r.params.get("offset") or 0 for r in reversed(self.fake.requests)
                       if r.method == "getUpdates"), 0)
        sent = {a.update_id for b in self.buyers for a in b.log if a.update_id is not None and a.update_id < offset}
        if not sent:
            return 0
        db = sqlite3.connect(self.db_path)
        try:
            recorded = {u for (u,) in db.execute("SELECT update_id FROM processed_updates WHERE update_id >= ?",
                                                 (min(sent),))}
        except sqlite3.Error:
            return len(sent)
        finally:
            db.close()
        return len(sent - recorded)

    async def kill_and_restart(self) -> None:
        if self.careful_kills:
            # Wait, up to 2 s, for a moment when no confirmed update is unrecorded (see the module
            # doc). Checked and killed with no await in between.
            until = time.monotonic() + 2
            while self.unrecorded() and time.monotonic() < until:
                await asyncio.sleep(0.002)
        bot = self.bot
        self._expected_exit.add(id(bot))
        bot.proc.send_signal(signal.SIGKILL)  # no shutdown handlers, no commits
        self.kill_times.append(time.monotonic())
        await self._reap(bot)
        self.report.kills += 1
        self.log(f"[chaos] t={time.monotonic() - self.started:.1f}s SIGKILL #{self.report.kills}, restarting")
        await self.start_bot()

    @staticmethod
    async def _reap(bot: BotProcess) -> None:
        """Waits for the exit and reads the pipes to the end (the log is checked)."""
        await bot.proc.wait()
        try:
            await asyncio.wait_for(asyncio.gather(*bot._drains), 5)
        except TimeoutError:
            pass
        await bot.kill()

    async def terminate(self) -> None:
        bot = self.bot
        if bot is None or bot.proc.returncode is not None:
            return
        self._expected_exit.add(id(bot))
        bot.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(bot.proc.wait(), 25)
        except TimeoutError:
            self.report.failures.append("SIGTERM did not stop the bot within 25 s")
            await bot.kill()
            return
        await self._reap(bot)
        if code != 0:
            self.report.failures.append(f"SIGTERM exit status {code}\n{bot.stderr[-3000:]}")

    def write_requests(self, path: Path) -> None:
        """Every call the bot made (and the buyers' updates), for reading a failure."""
        hits = {h.index: h.kind for h in self.fake.hits}
        with path.open("w", encoding="utf-8") as f:
            for i, x in enumerate(self.fake.requests):
                p = x.params
                if x.method == "getUpdates":
                    f.write(f"{x.at - T0:8.3f} #{i} getUpdates [{x.status}] offset={p.get('offset')}\n")
                    continue
                what = (p.get("text") or p.get("caption") or "")[:80].replace("\n", " ")
                tag = f" FAULT {hits[i]}" if i in hits else (" LIMITED" if x.limited else "")
                f.write(f"{x.at - T0:8.3f} #{i} {x.method} [{x.status}]{tag} chat={p.get('chat_id')} "
                        f"{p.get('callback_query_id') or p.get('file_id') or ''} {what!r}\n")

    # -------------------------------------------------------------- progress
    def progress(self) -> float:
        if not self.buyers:
            return 0.0
        return sum(b.furthest + 1 for b in self.buyers) / (len(self.buyers) * len(PATH))

    def seeded_chats(self) -> range:
        return range(SEEDED_BASE, SEEDED_BASE + self.n_reminders)

    def reminders_delivered(self) -> int:
        chats = self.seeded_chats()
        return len({c for c in chats for _, p in self.mail.since(c, 0) if "seller" in p.get("text", "")})

    def due_rows(self) -> list[sqlite3.Row]:
        if self.seeded_at is None:
            return []
        db = sqlite3.connect(self.db_path)
        try:
            db.row_factory = sqlite3.Row
            return db.execute("SELECT * FROM reminders WHERE user_id BETWEEN ? AND ? AND due_at <= ?",
                              (SEEDED_BASE, SEEDED_BASE + self.n_reminders - 1, moment(self.seeded_at))).fetchall()
        finally:
            db.close()

    # -------------------------------------------------------------- chaos
    async def inject_faults(self, stop: asyncio.Event) -> None:
        """Every ~2 s, arms a fault for each method with none armed: sendMessage a 429
        (retry_after 1; anyone's, reminders too), a 5xx or a dropped connection (to a buyer);
        answerCallbackQuery a 500; editMessageText and sendDocument (to a buyer) a 429
        (retry_after 1-2), a 5xx or a dropped connection; getFile a 502 or a dropped connection.
        A method is re-armed only after its last fault hit and it then succeeded a few times:
        with few buyers left, faults at a fixed rate would otherwise hit every reply of the last
        one, for ever."""
        buyers = {b.uid for b in self.buyers}
        rng = self.rng

        def err5() -> int:
            return rng.choice((500, 502, 503))

        faults = [  # (kind, method, to buyers only, successes before re-arming, arm)
            ("sendMessage:429", "sendMessage", False, FAULT_SPACING,
             lambda k: self.fake.fail_next_for("sendMessage", None, status=429, retry_after=1, kind=k)),
            ("sendMessage:5xx", "sendMessage", True, FAULT_SPACING,
             lambda k: self.fake.fail_next_for("sendMessage", buyers, status=err5(), kind=k)),
            ("sendMessage:net", "sendMessage", True, 2 * FAULT_SPACING,
             lambda k: self.fake.fail_next_for("sendMessage", buyers, status=None, kind=k)),
            ("answerCallbackQuery:5xx", "answerCallbackQuery", False, FAULT_SPACING,
             lambda k: self.fake.fail_next_for("answerCallbackQuery", None, status=500, kind=k)),
            ("editMessageText", "editMessageText", True, 3,
             lambda k: self.fake.fail_next_for("editMessageText", buyers, kind=k, **rng.choice((
                 {"status": 429, "retry_after": rng.randint(1, 2)}, {"status": err5()}, {"status": None})))),
            ("getFile", "getFile", False, 1,
             lambda k: self.fake.fail_next_for("getFile", None, kind=k, status=rng.choice((502, None)))),
            ("sendDocument", "sendDocument", True, 1,
             lambda k: self.fake.fail_next_for("sendDocument", buyers, kind=k, **rng.choice((
                 {"status": 429, "retry_after": 1}, {"status": err5()}, {"status": None})))),
        ]
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(1.5, 2.5))
                return
            except TimeoutError:
                pass
            # One fault per method at a time, in turn among its kinds: two armed together would
            # strike one reply and the error message after it back to back.
            for kind, method, to_buyers, spacing, arm in rng.sample(faults, len(faults)):
                if any(self.fake.pending_faults(k) for k, m, *_ in faults if m == method):
                    continue
                last = max((h.index for h in self.fake.hits if h.kind.split(":")[0] == method), default=-1)
                since_fault = sum(1 for r in self.fake.requests[last + 1:]
                                  if r.method == method and r.status == 200
                                  and (not to_buyers or r.params.get("chat_id") in buyers))
                if since_fault >= spacing:
                    arm(kind)

    def batch_confirmed(self) -> bool:
        for b in self.buyers:
            if b.log and b.log[-1].kind == "forward" and time.monotonic() - b.log[-1].at < 1.0:
                last = b.log[-1]
                if any(r.method == "getUpdates" and (r.params.get("offset") or 0) > last.update_id
                       for r in self.fake.requests[last.index:]):
                    return True
        return False

    async def kill_at_random(self, stop: asyncio.Event) -> None:
        # The first crash lands mid-way through the seeded reminders' delivery, the second just after a
        # buyer forwarded a batch; the others
        # at random points of the buyers' progress.
        triggers: list[Callable[[], bool]] = []
        if self.n_kills and self.n_reminders:
            k = self.rng.randint(max(1, math.ceil(0.2 * self.n_reminders)), max(1, math.ceil(0.7 * self.n_reminders)))
            triggers.append(lambda k=k: self.reminders_delivered() >= k)
        if len(triggers) < self.n_kills and self.burst_kill:
            # One lands as soon as polling confirmed a batch of forwards to Telegram (the next
            # getUpdates' offset is past it): the crash cuts the batch's handling.
            triggers.append(self.batch_confirmed)
        for p in sorted(self.rng.uniform(0.15, 0.8) for _ in range(self.n_kills - len(triggers))):
            triggers.append(lambda p=p: self.progress() >= p)
        for trigger in triggers:
            patience_until = time.monotonic() + 15
            while not stop.is_set() and not trigger() and time.monotonic() < patience_until:
                await asyncio.sleep(0.005)
            if stop.is_set():
                return
            await self.kill_and_restart()
            await asyncio.sleep(self.rng.uniform(0.3, 1.2))

    async def run(self) -> ChaosReport:
        self.config_path.write_text(CONFIG.format(rate=5, lease=3), encoding="utf-8")
        await self.fake.start()
        self.env = bot_env(BOT_TOKEN=self.fake.token, BOT_API_URL=self.fake.url,
                           DATABASE_URL=f"sqlite:///{self.db_path}", CONFIG_FILE=str(self.config_path))
        try:
            if self.n_reminders:
                # Seller window ends in 2 h: "1 day before" is due now, "when it ends" stays pending.
                self.seeded_at = await seed(self.db_path, self.n_reminders,
                                            window_started=-timedelta(days=5) + timedelta(hours=2),
                                            planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)
            today = datetime.now(timezone.utc).date()
            image = webp_screenshot()
            self.buyers = [Buyer(SIM_BASE + i, random.Random(self.seed * 1_000_003 + i), self.fake, self.mail,
                                 self.patience, today, think_range=self.think, burst_range=self.burst, image=image)
                           for i in range(self.n_users)]
            self.started = time.monotonic()
            deadline = self.started + self.seconds
            try:
                await self.start_bot()
            except RuntimeError as e:
                self.report.failures.append(f"the bot did not start: {e}")
                return self.report
            self.log(f"[chaos] t={time.monotonic() - self.started:.1f}s bot up, {self.n_users} buyers start")
            stop = asyncio.Event()
            chaos = [asyncio.create_task(self.inject_faults(stop), name="faults"),
                     asyncio.create_task(self.kill_at_random(stop), name="kills")]
            # Buyers arrive over a few seconds, as people do: the crashes find some mid-dispute.
            spread = min(0.5 * self.n_users, self.seconds / 5)
            plays = [asyncio.create_task(b.play(self.rng.uniform(0, spread)), name=f"buyer {b.uid}")
                     for b in self.buyers]
            try:
                _, playing = await asyncio.wait(plays, timeout=max(1.0, deadline - time.monotonic()))
                if playing:
                    self.report.failures.append(f"time is up ({self.seconds:.0f} s) with {len(playing)} buyer(s) "
                                                "still playing")
            finally:
                stop.set()
                for t in plays:
                    t.cancel()
                # A crash in flight completes first: the checks need a live bot.
                for task in (*plays, *chaos):
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception as e:  # the chaos's own failure, or a restart that failed
                        self.report.failures.append(f"{task.get_name()}: {type(e).__name__}: {e}")
            self.log(f"[chaos] t={time.monotonic() - self.started:.1f}s buyers done")
            # Let the seeded reminders finish (a claim left by a crash waits for its lease).
            while time.monotonic() < deadline and self.bot is not None and self.bot.proc.returncode is None:
                rows = self.due_rows()
                if all(r["status"] == "sent" for r in rows):
                    break
                await asyncio.sleep(0.2)
            self.log(f"[chaos] t={time.monotonic() - self.started:.1f}s reminders done, SIGTERM")
            await self.terminate()
            self.report.elapsed = time.monotonic() - self.started
        finally:
            for bot in self.processes:
                self._expected_exit.add(id(bot))
                await bot.kill()
            await asyncio.gather(*self.watchers, return_exceptions=True)
            await self.fake.stop()
            for i, bot in enumerate(self.processes, start=1):
                (self.workdir / f"bot-{i}.log").write_text(bot.stderr + bot.stdout, encoding="utf-8")
            self.write_requests(self.workdir / "requests.log")
        self.check()
        return self.report

    # -------------------------------------------------------------- the checks
    def check(self) -> None:
        r = self.report
        r.failures.extend(self.unexpected)
        r.finished = sum(b.finished for b in self.buyers)
        r.recoveries = sum(b.recoveries for b in self.buyers)
        if r.finished != r.users:
            r.failures.append(f"{r.users - r.finished} buyer(s) did not reach {GOAL!r}: "
                              f"{[b.uid for b in self.buyers if not b.finished]}")
            for b in self.buyers:
                if not b.finished:
                    r.failures.append(f"buyer {b.uid} stuck after {b.actions} actions:\n  " + "\n  ".join(b.trail))
        if r.kills != r.kills_planned:
            r.failures.append(f"{r.kills} of {r.kills_planned} kills happened")
        for b in self.buyers:
            for a in b.anomalies:
                r.failures.append(f"buyer {b.uid}: {a}")
        for h in self.fake.hits:
            status = self.fake.requests[h.index].status
            r.injected_429 += status == 429
            r.injected_5xx += (status or 0) >= 500
            r.injected_net += status == 0
            r.injected_by_method[h.kind.split(":")[0]] += 1
        r.rate_limited_429 = sum(x.limited for x in self.fake.requests)
        # Tracebacks under "update N failed" are handler errors the bot logged and answered
        # ("Something went wrong..."); any other one (a reminder tick, an unhandled task) fails the run.
        for p in self.processes:
            record = ""
            for line in p.stderr.splitlines():
                if LOG_RECORD.match(line):
                    record = line
                    r.handler_errors += bool(HANDLER_ERROR.search(line))
                elif line.startswith("Traceback"):
                    r.tracebacks += 1
                    if not HANDLER_ERROR.search(record):
                        r.failures.append(f"traceback after {record or 'no log record'!r}")
        if not self.db_path.exists():
            r.failures.append("no database file")
            return
        db = sqlite3.connect(self.db_path)
        db.row_factory = sqlite3.Row
        try:
            self._check_states(db)
            self._check_buyers(db)
            self._check_evidence(db)
            self._check_updates(db)
            self._check_delays()
            self._check_reminders(db)
        finally:
            db.close()

    def _check_states(self, db: sqlite3.Connection) -> None:
        r = self.report
        rows = db.execute("SELECT * FROM disputes").fetchall()
        r.disputes = len(rows)
        for row in rows:
            d = _dispute(row)
            problem = None
            if d.state not in STATE_NAMES:
                problem = "not a state of the machine"
            elif d.state in STEPS and not d.editing:
                path = d.path()
                if d.state not in path:
                    problem = f"off its path {path}"
                else:
                    missing = [s for s in path[:path.index(d.state)] if not d.answered(s)]
                    if missing:
                        problem = f"unanswered earlier steps {missing}"
            elif d.user_id >= SIM_BASE and d.state not in STEPS and d.state != "cancelled":
                if not d.is_complete():
                    problem = "past the summary with an incomplete form"
                elif d.state not in ("summary", "opening") and (d.opened_at is None or d.window_started_at is None):
                    problem = "opened without opened_at/window_started_at"
            if problem:
                r.failures.append(f"dispute {d.id} (user {d.user_id}) in state {d.state!r}: {problem}")
            else:
                r.states_ok += 1

    def _check_buyers(self, db: sqlite3.Connection) -> None:
        r = self.report
        config = load_config({"CONFIG_FILE": str(self.config_path), "BOT_TOKEN": self.fake.token})
        now = datetime.now(timezone.utc)
        for b in self.buyers:
            for dispute_id, (idx, version) in b.confirmed.items():
                row = db.execute("SELECT * FROM disputes WHERE id = ? AND user_id = ?", (dispute_id, b.uid)).fetchone()
                where = f"buyer {b.uid} dispute {dispute_id}"
                if row is None:
                    r.answers_lost += 1
                    r.failures.append(f"{where}: gone from the database")
                    continue
                state = row["state"]
                if state not in PATH:
                    r.answers_lost += 1
                    r.failures.append(f"{where}: state {state!r} is off the buyer's path")
                    continue
                if PATH.index(state) < idx or row["version"] < version:
                    r.answers_lost += 1
                    r.failures.append(f"{where}: the bot asked {PATH[idx]!r} (v{version}) but the database has "
                                      f"{state!r} (v{row['version']})\n  " + "\n  ".join(b.trail))
                # Every step before the stored state is answered as the buyer answered it.
                passed = PATH[:PATH.index(state)] + ((GOAL,) if state == GOAL else ())
                wrong = self._wrong_answers(b, row, passed)
                if wrong:
                    r.answers_wrong += len(wrong)
                    r.failures.append(f"{where} in {state!r}: " + "; ".join(wrong))
                # Its pending reminders are the plan of its state: a crash never leaves one without them.
                d = _dispute(row)
                tz = zone(None, LOCALE)
                want = {(p.kind, moment(p.due_at)) for p in plan(d, config.policy, tz, HOLIDAY_COUNTRY[LOCALE], now)}
                have = {(x["kind"], x["due_at"]) for x in db.execute(
                    "SELECT kind, due_at FROM reminders WHERE dispute_id = ? AND status = 'pending'", (dispute_id,))}
                r.plans_checked += 1
                if want == have:
                    r.plans_ok += 1
                else:
                    r.failures.append(f"{where} in {state!r}: pending reminders {sorted(have)} != plan {sorted(want)}")

    @staticmethod
    def _wrong_answers(b: Buyer, row: sqlite3.Row, passed: tuple[str, ...]) -> list[str]:
        """Answers of the steps the dispute is past, against what the buyer sent."""
        checks = {
            "reason": lambda: row["reason"] == "not_received" and row["received"] == 0,
            "order_number": lambda: row["order_number"] == b.order_number,
            "order_total": lambda: (row["order_total"] is not None and Decimal(row["order_total"]) == Decimal(ORDER_TOTAL)
                                    and row["currency"] == "USD"),
            "shipped_on": lambda: row["shipped_on"] == b.shipped_on.isoformat(),
            "protection": lambda: (row["protection_ends_on"] is not None
                                   and date.fromisoformat(row["protection_ends_on"]) in b.protection_ends),
            "tracking": lambda: row["tracking"] == "customs" and row["refund_full"] == 1 and row["amount"] is None,
            "evidence": lambda: row["evidence_done"] == 1,
            "negotiating": lambda: row["opened_at"] is not None and row["window_started_at"] == row["opened_at"],
        }
        names = {"reason": "reason,received", "order_number": "order_number", "order_total": "order_total,currency",
                 "shipped_on": "shipped_on", "protection": "protection_ends_on", "tracking": "tracking,refund_full,amount",
                 "evidence": "evidence_done", "negotiating": "opened_at,window_started_at"}
        wrong = []
        for step in passed:
            if step in checks and not checks[step]():
                wrong.append(f"{step}: stored " + ", ".join(f"{c}={row[c]!r}" for c in names[step].split(",")))
        return wrong

    def _check_evidence(self, db: sqlite3.Connection) -> None:
        """Every forwarded message and file a buyer sent is stored (the photo as sent, or as its
        AliExpress-ready copy, named after the original)."""
        r = self.report
        for b in self.buyers:
            lost = []
            for a in b.log:
                if a.kind not in ("forward", "photo"):
                    continue
                r.evidence_sent += 1
                if self._stored(db, b, a):
                    r.evidence_stored += 1
                else:
                    lost.append(a)
            if lost:
                r.evidence_lost += len(lost)
                r.failures.append(f"buyer {b.uid}: evidence lost: {len(lost)} item(s) sent at "
                                  f"{sorted({round(a.at - T0, 2) for a in lost})}s: {[a.what for a in lost][:5]}…\n  "
                                  + "\n  ".join(b.trail))
        (r.evidence_fixed,) = db.execute(
            "SELECT COUNT(*) FROM evidence WHERE flags LIKE '%fixed%' AND dispute_id IN "
            "(SELECT id FROM disputes WHERE user_id >= ?)", (SIM_BASE,)).fetchone()

    @staticmethod
    def _stored(db: sqlite3.Connection, b: Buyer, a: Action) -> bool:
        if a.kind == "forward":
            sql, params = "e.text = ?", (a.evidence,)
        else:
            sql, params = "(e.file_unique_id = ? OR e.file_name = ?)", (a.evidence, f"evidence-{a.evidence}.jpg")
        (n,) = db.execute(f"SELECT COUNT(*) FROM evidence e JOIN disputes d ON d.id = e.dispute_id "
                          f"WHERE d.user_id = ? AND {sql}", (b.uid, *params)).fetchone()
        return n > 0

    def _replies(self, b: Buyer, a: Action, end: int) -> list[Any]:
        """What the bot showed the buyer from ``a`` up to request ``end``: messages sent or
        edited in their chat, and an alert or a toast on their tap."""
        out = []
        for x in self.fake.requests[a.index:end]:
            if x.status != 200:
                continue
            if x.method in SENT_METHODS and x.params.get("chat_id") == b.uid:
                out.append(x)
            elif (x.method == "answerCallbackQuery" and a.callback_id is not None
                  and str(x.params.get("callback_query_id")) == a.callback_id and x.params.get("text")):
                out.append(x)
        return out

    def _check_updates(self, db: sqlite3.Connection) -> None:
        """swallowed: an update that got no reply at all (nothing said in the chat before the
        buyer's next turn, no alert on the tap, no re-ask after a crash that cut it off) and
        whose effect is not in the database; stuck: an answer that was saved, but the next
        question never came by itself: not before the buyer's next action other than a
        /disputes sent after waiting in vain (a crash's re-ask counts; an error message telling
        them to send /disputes does not)."""
        r = self.report
        end = len(self.fake.requests)
        # Updates the bot began to handle (bot.middlewares.OncePerUpdate records each one).
        handled = {u for (u,) in db.execute("SELECT update_id FROM processed_updates")}
        for b in self.buyers:
            rows = {row["id"]: row for row in db.execute("SELECT * FROM disputes WHERE user_id = ?", (b.uid,))}
            last_answer = {(a.dispute_id, a.step): i for i, a in enumerate(b.log) if a.kind == "answer"}
            # A crash's re-ask ("I restarted while I was handling your last message…") answers
            # the buyer's last turn before that crash, whenever it comes.
            reasks = [x for x in self.fake.requests if x.method == "sendMessage" and x.status == 200
                      and x.params.get("chat_id") == b.uid and "I restarted" in (x.params.get("text") or "")]
            reasked = {max((a.turn for a in b.log if a.at < k), default=None)
                       for k in self.kill_times if any(x.at > k for x in reasks)}
            swallowed = []
            for i, a in enumerate(b.log):
                r.updates_sent += 1
                later = [x for x in b.log[i + 1:] if x.turn != a.turn]
                turn_end = later[0].index if later else end
                saved = None
                if a.kind in ("forward", "photo"):
                    saved = self._stored(db, b, a)
                elif a.kind == "answer":
                    row = rows.get(a.dispute_id)
                    saved = (last_answer[(a.dispute_id, a.step)] == i and row is not None and row["state"] in PATH
                             and PATH.index(row["state"]) > PATH.index(a.step)
                             and not self._wrong_answers(b, row, (a.step,)))
                replies = self._replies(b, a, turn_end) or (a.turn in reasked and reasks)
                if not replies and not saved and a.update_id not in handled:
                    swallowed.append(a)
                if a.kind == "answer" and saved:
                    # The next question must come by itself: between this answer and the buyer's
                    # next one, more questions for later steps than the buyer's own "Open" taps
                    # (each shows one) or a crash's re-ask; late is fine (a restart), never is not.
                    nxt = next((x.index for x in b.log[i + 1:] if x.kind == "answer"), end)
                    want = PATH.index(a.step)
                    asked = [x for x in self.fake.requests[a.index:nxt]
                             if x.method == "sendMessage" and x.status == 200 and x.params.get("chat_id") == b.uid
                             and (s := read_screen(x.params)).kind == "step" and s.dispute_id == a.dispute_id
                             and s.step in PATH and PATH.index(s.step) > want]
                    opens = sum(1 for x in b.log[i + 1:] if x.index < nxt and x.what.startswith("open:"))
                    if len(asked) <= opens:
                        r.stuck += 1
                        said = [(x.params.get("text") or x.params.get("caption") or "")[:70]
                                for x in self._replies(b, a, nxt)]
                        r.failures.append(f"buyer {b.uid}: stuck: answer to {a.step!r} ({a.what!r}, at "
                                          f"{a.at - T0:.2f}s) saved, but the next question never came by itself "
                                          f"({len(asked)} question(s), {opens} asked for with Open); the bot said "
                                          f"{said}\n  " + "\n  ".join(b.trail))
            if swallowed:
                r.swallowed += len(swallowed)
                r.failures.append(f"buyer {b.uid}: swallowed: {len(swallowed)} update(s) never handled, "
                                  f"unanswered and not in the database: "
                                  f"{[(a.kind, a.what, round(a.at - T0, 2)) for a in swallowed][:5]}\n  "
                                  + "\n  ".join(b.trail))

    def _check_delays(self) -> None:
        """For every buyer, the last fault that struck them (an injected fault on a call to their
        chat or their file, a flood-limit 429 in their chat, a crash while they played) and how
        long until the bot's next message reached them."""
        r = self.report
        owner = {f: b.uid for b in self.buyers for f in b.files}
        faults: dict[int, list[float]] = defaultdict(list)
        for h in self.fake.hits:
            uid = h.chat_id if h.chat_id is not None else owner.get(h.file_id)
            if uid is not None:
                faults[uid].append(h.at)
        for x in self.fake.requests:
            if x.limited:
                faults[x.params.get("chat_id")].append(x.at)
        for b in self.buyers:
            faults[b.uid].extend(self.kill_times)
            # While they played: a late duplicate failing after they finished leaves nobody waiting.
            during = [t for t in faults[b.uid] if b.started_at is not None and b.started_at <= t
                      and (b.finished_at is None or t <= b.finished_at)]
            if not during:
                continue
            last = max(during)
            after = [x.at for x in self.fake.requests if x.at > last and x.status == 200
                     and x.method in SENT_METHODS and x.params.get("chat_id") == b.uid]
            delay = (min(after) if after else time.monotonic()) - last
            r.max_delay = max(r.max_delay, delay)
            if not after:
                r.failures.append(f"buyer {b.uid}: no message from the bot after the last fault at {last - T0:.2f}s")
            elif delay > self.delay_limit:
                r.failures.append(f"buyer {b.uid}: the bot's next message came {delay:.1f}s after the last fault "
                                  f"(limit {self.delay_limit:.0f}s)\n  " + "\n  ".join(b.trail))

    def _check_reminders(self, db: sqlite3.Connection) -> None:
        r = self.report
        if not self.n_reminders:
            return
        chats = self.seeded_chats()
        rows = db.execute("SELECT * FROM reminders WHERE user_id BETWEEN ? AND ?",
                          (chats[0], chats[-1])).fetchall()
        due = [x for x in rows if x["due_at"] <= moment(self.seeded_at)]
        later = [x for x in rows if x["due_at"] > moment(self.seeded_at)]
        per_chat = Counter(c for c in chats for _, p in self.mail.since(c, 0) if "seller" in p.get("text", ""))
        r.reminders_seeded = len(due)
        r.reminders_sent = sum(x["status"] == "sent" for x in due)
        lost = [x for x in due if x["status"] != "sent" or per_chat[x["user_id"]] == 0]
        r.reminders_lost = len(lost)
        r.duplicate_reminders = sum(c - 1 for c in per_chat.values() if c > 1)
        if len(due) != self.n_reminders:
            r.failures.append(f"{len(due)} due reminder rows for {self.n_reminders} seeded chats")
        for x in lost:
            r.failures.append(f"reminder {x['id']} to chat {x['user_id']} lost: status {x['status']!r}, "
                              f"attempts {x['attempts']}, error {x['error']!r}, delivered {per_chat[x['user_id']]}x")
        if r.duplicate_reminders > r.kills:
            r.failures.append(f"{r.duplicate_reminders} duplicate reminders for {r.kills} crash(es): "
                              f"{ {c: n for c, n in per_chat.items() if n > 1} }")
        touched = [x for x in later if x["status"] != "pending" or x["attempts"] != 0]
        for x in touched:
            r.failures.append(f"reminder {x['id']} due {x['due_at']} (not yet due) was {x['status']!r} "
                              f"after {x['attempts']} attempt(s)")


async def run_chaos(users: int = 20, kills: int = 2, *, seconds: float = 90, seed: int = 1, reminders: int = 30,
                    patience: float = 5.0, think: tuple[float, float] = (1.0, 1.5), burst: tuple[int, int] = (10, 30),
                    delay_limit: float = 15.0, burst_kill: bool = True, careful_kills: bool = False,
                    workdir: Path | None = None,
                    log: Callable[[str], None] | None = None) -> ChaosReport:
    """Runs one chaos session and returns its figures; ``report.failures`` lists what broke."""
    log = log or (lambda _: None)
    kw = dict(seconds=seconds, seed=seed, reminders=reminders, patience=patience, think=think, burst=burst,
              delay_limit=delay_limit, burst_kill=burst_kill, careful_kills=careful_kills, log=log)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return await Chaos(users, kills, workdir=workdir, **kw).run()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        return await Chaos(users, kills, workdir=Path(tmp), **kw).run()


def webp_screenshot() -> bytes:
    """A small WEBP screenshot: AliExpress takes only jpg/png/bmp/gif, so the bot converts it."""
    from PIL import Image

    rng = random.Random(0)
    img = Image.new("RGB", (320, 240), "white")
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(320 * 240)])
    out = io.BytesIO()
    img.save(out, "WEBP", quality=60)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="simulated buyers (default 20)")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILL restarts (default 2)")
    parser.add_argument("--seconds", type=float, default=90, help="time cap of the run (default 90)")
    parser.add_argument("--reminders", type=int, default=30, help="seeded due reminders (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--patience", type=float, default=5.0,
                        help="seconds a buyer waits for an answer before /disputes (default 5)")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 1.5), metavar=("MIN", "MAX"),
                        help="seconds a buyer reads a message before acting (default 1.0 1.5)")
    parser.add_argument("--burst", type=int, nargs=2, default=(10, 30), metavar=("MIN", "MAX"),
                        help="forwarded seller messages each buyer sends at once (default 10 30)")
    parser.add_argument("--no-burst-kill", action="store_true",
                        help="no SIGKILL right after polling confirmed a batch of forwards (by default the "
                             "second kill, or the first without seeded reminders)")
    parser.add_argument("--careful-kills", action="store_true",
                        help="kill only when every update polling confirmed is recorded as in flight "
                             "(the gap once found there is closed)")
    parser.add_argument("--delay-limit", type=float, default=15.0,
                        help="limit on the wait for the bot's next message after the last fault (default 15)")
    parser.add_argument("--workdir", type=Path, help="keep the database, config and logs here")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = asyncio.run(run_chaos(args.users, args.kills, seconds=args.seconds, seed=args.seed,
                                   reminders=args.reminders, patience=args.patience, think=tuple(args.think),
                                   burst=tuple(args.burst), delay_limit=args.delay_limit,
                                   burst_kill=not args.no_burst_kill, careful_kills=args.careful_kills,
                                   workdir=args.workdir,
                                   log=log))
    for failure in report.failures[:40]:
        print(f"FAIL {failure}", file=sys.stderr)
    if len(report.failures) > 40:
        print(f"... and {len(report.failures) - 40} more", file=sys.stderr)
    print(report.figures(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
