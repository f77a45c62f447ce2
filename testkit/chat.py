"""Test helpers that read like a chat: the real Dispatcher, a fake network.

``RecordingSession`` stands in for aiogram's HTTP session: it records every
Bot API call and answers it the way Telegram would. ``BotHarness`` wires the
real dispatcher, routers, middlewares, flows and a SQLite file; ``ChatUser``
sends messages and presses buttons by their label.
"""
from __future__ import annotations

import itertools
from html.parser import HTMLParser
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import (AnswerCallbackQuery, EditMessageText, GetFile, GetMe, SendDocument, SendMessage,
                             TelegramMethod)
from aiogram.types import Chat, Document, File, Message, Update, User

from bot.app import create_dispatcher, create_engine, send_budget
from bot.middlewares import SpinnerIsCosmetic
from bot.config import Config
from bot.i18n import make_i18n
from bot.services import Services
from bot.storage import Storage

TOKEN = "42:TEST-token-not-a-real-one"
# The day the scripted conversations happen on (the clock is fixed at noon UTC).
TODAY = date(2026, 11, 21)
BOT_USER = User(id=42, is_bot=True, first_name="Dispute guide", username="dispute_test_bot")


@dataclass
class Sent:
    """One Bot API call the bot made, with what "Telegram" answered."""
    method: TelegramMethod
    result: Any

    @property
    def text(self) -> str:
        return getattr(self.method, "text", None) or getattr(self.method, "caption", None) or ""

    @property
    def chat_id(self) -> int | None:
        return getattr(self.method, "chat_id", None)

    def buttons(self) -> list[tuple[str, str]]:
        markup = getattr(self.method, "reply_markup", None)
        rows = getattr(markup, "inline_keyboard", None) or []
        return [(b.text, b.callback_data) for row in rows for b in row]


class _EntityParser(HTMLParser):
    """Turns the bot's HTML into Telegram's text + entities, as a client receives it."""
    TAGS = {"b": "bold", "i": "italic", "u": "underline", "s": "strikethrough", "code": "code", "pre": "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.entities, self._open = "", [], []

    def _offset(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "blockquote":
            tag = "expandable_blockquote" if ("expandable", None) in attrs else tag
        self._open.append((tag, self._offset()))

    def handle_endtag(self, tag: str) -> None:
        opened, start = self._open.pop()
        kind = self.TAGS.get(opened, opened if "blockquote" in opened else None)
        if kind and self._offset() > start:
            self.entities.append({"type": kind, "offset": start, "length": self._offset() - start})

    def handle_data(self, data: str) -> None:
        self.text += data


def as_received(html_text: str) -> tuple[str, list[dict]]:
    parser = _EntityParser()
    parser.feed(html_text)
    parser.close()
    return parser.text, parser.entities


MESSAGE_IDS = itertools.count(1)


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1000)  # file ids
        # As in Telegram's private chats, the buyer's and the bot's messages share one rising
        # sequence: one for all chats and every harness of the process (several workers serve one
        # chat), so each chat's order is Telegram's and nothing is kept per chat.
        self._message_ids = MESSAGE_IDS
        self._failures: list[tuple[type, Exception]] = []

    def fail_next(self, method_type: type, error: Exception) -> None:
        """The next call of that method raises ``error`` (a network fault, a 5xx…)."""
        self._failures.append((method_type, error))

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None) -> Any:
        for i, (kind, error) in enumerate(self._failures):
            if isinstance(method, kind):
                del self._failures[i]
                raise error
        result = self._answer(method)
        self.sent.append(Sent(method, result))
        return result

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids)

    def number_messages_from(self, first: int, *, step: int = 1) -> None:
        self._message_ids = itertools.count(first, step)

    def _message(self, chat_id: int, **fields: Any) -> Message:
        return Message(message_id=self.next_message_id(chat_id), date=datetime.now(timezone.utc),
                       chat=Chat(id=chat_id, type="private"), from_user=BOT_USER, **fields)

    def _answer(self, method: TelegramMethod) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, SendMessage):
            return self._message(method.chat_id, text=method.text, reply_markup=method.reply_markup)
        if isinstance(method, EditMessageText):
            return self._message(method.chat_id or 0, text=method.text, reply_markup=method.reply_markup)
        if isinstance(method, SendDocument):
            doc = method.document
            size = len(doc.data) if hasattr(doc, "data") else 0
            file_id = f"sent-{next(self._ids)}"
            self.files[file_id] = getattr(doc, "data", b"")
            return self._message(method.chat_id, caption=method.caption, document=Document(
                file_id=file_id, file_unique_id=file_id, file_name=getattr(doc, "filename", None), file_size=size))
        if isinstance(method, GetFile):
            data = self.files[method.file_id]
            return File(file_id=method.file_id, file_unique_id=method.file_id, file_size=len(data),
                        file_path=method.file_id)
        return True  # answerCallbackQuery, setMyCommands, editMessageReplyMarkup, ...

    async def stream_content(self, url: str, headers: dict | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[-1]]

    async def close(self) -> None:
        pass


class FixedClock:
    def __init__(self, day: date) -> None:
        self.current = datetime(day.year, day.month, day.day, 12, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.current


class BotHarness:
    """The real dispatcher over a SQLite file (or ``database_url``); ``restart()`` keeps the database."""

    def __init__(self, db_path: Path, today: date, config: Config | None = None, *,
                 database_url: str | None = None) -> None:
        self.db_path = db_path  # the SQLite file, unless ``database_url`` names another database
        self.clock = FixedClock(today)
        self.config = config or Config.model_validate({
            # A scripted user types far faster than a person: flood control gets its own test.
            "bot": {"token": TOKEN, "album_settle_seconds": 0.2, "flood_limit": 10_000},
            "database": {"url": database_url or f"sqlite:///{db_path}"},
            # The recording session answers at once; rates are tested against the fake Bot API.
            "reminders": {"global_per_second": 100_000, "per_chat_per_second": 100_000},
            "sending": {"per_second": 100_000, "chat_per_second": 100_000}})
        self.session = RecordingSession()
        self.bot = Bot(TOKEN, session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        self.session.middleware(SpinnerIsCosmetic())
        self.budget = send_budget(self.config)  # every send and edit, as in bot.app.create_bot
        self.session.middleware(self.budget)
        self._update_ids = itertools.count(1)
        self.svc: Services | None = None
        self.dp: Dispatcher | None = None

    async def start(self) -> "BotHarness":
        store = await Storage.open(self.config.database.url, busy_timeout=self.config.database.busy_timeout_seconds)
        self.svc = Services(config=self.config, store=store, clock=self.clock, i18n=make_i18n())
        self.dp = create_dispatcher(self.svc)
        self.engine = create_engine(self.svc, self.bot)
        return self

    async def stop(self) -> None:
        await self.svc.albums.drain()
        await self.svc.store.close()

    async def restart(self) -> None:
        """A new process, as far as the bot can tell: new dispatcher, new connection."""
        await self.stop()
        await self.start()

    @property
    def store(self) -> Storage:
        return self.svc.store

    async def feed(self, update: dict) -> None:
        update.setdefault("update_id", next(self._update_ids))
        await self.dp.feed_update(self.bot, Update.model_validate(update, context={"bot": self.bot}))

    async def pass_days(self, days: float = 1, *, step_hours: float = 1) -> None:
        """Moves the clock forward, delivering reminders as they fall due."""
        end = self.clock.current + timedelta(days=days)
        while self.clock.current < end:
            self.clock.current = min(end, self.clock.current + timedelta(hours=step_hours))
            await self.engine.tick()

    async def settle(self) -> None:
        """Lets delayed replies (album acknowledgements) go out."""
        await self.svc.albums.drain()

    def user(self, user_id: int = 1001, *, language_code: str = "en", first_name: str = "Ann") -> "ChatUser":
        return ChatUser(self, user_id, language_code, first_name)


@dataclass
class ChatUser:
    harness: BotHarness
    id: int
    language_code: str
    first_name: str
    _seen: int = 0

    def _from(self) -> dict:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}

    def _message(self, **fields: Any) -> dict:
        return {"message_id": self.harness.session.next_message_id(self.id), "date": int(time.time()),
                "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
                "from": self._from(), **fields}

    async def send(self, text: str | None = None, **fields: Any) -> list[Sent]:
        """Sends a message: text, or any Message fields (photo=[...], sticker={...})."""
        if text is not None:
            fields["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self.harness.feed({"message": self._message(**fields)})
        return self.replies()

    async def send_photo(self, file_id: str = "photo-1", *, size: int = 300_000, **fields: Any) -> list[Sent]:
        photo = [{"file_id": f"{file_id}-small", "file_unique_id": f"{file_id}-s", "width": 90, "height": 90,
                  "file_size": 2_000},
                 {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 1280, "height": 960,
                  "file_size": size}]
        return await self.send(photo=photo, **fields)

    async def forward(self, text: str, *, sender: str = "Best Store", sent_at: datetime | None = None) -> list[Sent]:
        origin = {"type": "hidden_user", "sender_user_name": sender,
                  "date": int((sent_at or datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc)).timestamp())}
        return await self.send(text, forward_origin=origin)

    def last_with_buttons(self) -> Sent:
        for sent in reversed(self.harness.session.sent):
            if sent.chat_id == self.id and sent.buttons():
                return sent
        raise AssertionError("the bot sent this user no buttons")

    async def press(self, label: str, *, on: Sent | None = None) -> list[Sent]:
        """Taps the button whose text contains ``label`` on the latest keyboard (or ``on``)."""
        sent = on or self.last_with_buttons()
        matches = [data for text, data in sent.buttons() if label in text]
        assert matches, f"no button {label!r} in {[t for t, _ in sent.buttons()]}"
        return await self.tap(matches[0], message=sent)

    async def choose(self, value: str) -> list[Sent]:
        """Taps the latest keyboard's button for an answer value ("not_received", "d7", "full")
        or a navigation action ("back", "edit_amount"): presses that read the same in every language."""
        sent = self.last_with_buttons()
        matches = [data for _, data in sent.buttons() if data and data.rsplit(":", 1)[-1] == value]
        assert matches, f"no button for {value!r} in {[d for _, d in sent.buttons()]}"
        return await self.tap(matches[0], message=sent)

    async def tap(self, data: str, *, message: Sent | None = None) -> list[Sent]:
        """Sends raw callback data (for forged or outdated buttons)."""
        sent = message or self.last_with_buttons()
        text, entities = as_received(sent.text or "…")
        msg = {"message_id": sent.result.message_id if isinstance(sent.result, Message) else 1,
               "date": int(time.time()), "chat": {"id": self.id, "type": "private"},
               "from": BOT_USER.model_dump(), "text": text, "entities": entities,
               "reply_markup": sent.method.reply_markup.model_dump() if getattr(sent.method, "reply_markup", None)
               else None}
        await self.harness.feed({"callback_query": {
            "id": f"cb-{time.monotonic_ns()}", "from": self._from(), "chat_instance": "ci",
            "message": msg, "data": data}})
        return self.replies()

    def replies(self) -> list[Sent]:
        """What the bot sent to this user since the last look (answers to taps included)."""
        mine = [s for s in self.harness.session.sent[self._seen:]
                if s.chat_id == self.id or isinstance(s.method, AnswerCallbackQuery)]
        self._seen = len(self.harness.session.sent)
        return mine

    @staticmethod
    def texts(replies: list[Sent]) -> str:
        return "\n---\n".join(s.text for s in replies if s.text)

    @staticmethod
    def alerts(replies: list[Sent]) -> list[str]:
        return [s.method.text for s in replies if isinstance(s.method, AnswerCallbackQuery) and s.method.text]
