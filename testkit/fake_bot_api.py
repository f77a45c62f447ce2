"""A Telegram-shaped Bot API server for end-to-end tests (aiohttp, 127.0.0.1 only).

Point the bot at ``api.url`` (``BOT_API_URL``), drive it with ``user_message`` /
``user_callback`` and observe what it did through ``requests`` / ``wait_for``.
Faults (429, 5xx, 403) can be injected with ``fail_next`` and ``block_user``, a dropped
connection with ``drop_next``; ``RateLimits`` (optional) answers 429 with a ``retry_after``
like Telegram when sends exceed about 30/s for the bot or about 1/s per chat.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable

from aiohttp import web

SENT_METHODS = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText"}
OK_TRUE = {"deleteWebhook", "setMyCommands", "deleteMyCommands", "setMyDescription",
           "setMyShortDescription", "setMyName", "answerCallbackQuery", "deleteMessage",
           "editMessageReplyMarkup", "setChatMenuButton", "sendChatAction", "setWebhook"}
INT_KEYS = {"chat_id", "from_chat_id", "message_id", "user_id", "offset", "limit", "timeout",
            "reply_to_message_id", "message_thread_id", "cache_time"}
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
TEXT_KEYS = {"text", "caption", "description", "short_description", "name"}  # never JSON-decoded


@dataclass
class Request:
    method: str
    params: dict
    at: float                   # time.monotonic() on arrival
    status: int | None = None   # HTTP status the fake answered with (0: connection dropped)
    limited: bool = False       # a 429 of the RateLimits, not an injected one
    answered_at: float | None = None  # time.monotonic() when the answer went back (after ``latency``)


class APIError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None):
        self.status, self.description, self.retry_after = status, description, retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


class RateLimited(APIError):
    """A 429 of the fake's RateLimits."""


class Dropped(Exception):
    """Raised by ``_dispatch`` (or a subclass) to drop the connection without an answer."""


@dataclass
class RateLimits:
    """Telegram-like flood limits on the calls that put or change a message in a chat:
    token buckets of ``per_second`` (a burst of ``burst``) for the whole bot and of
    ``chat_per_second`` (a burst of ``chat_burst``) per chat. A call over either gets 429
    with ``retry_after`` = the whole seconds until a token is back (at least 1)."""
    per_second: float = 30
    burst: int = 30
    chat_per_second: float = 1
    chat_burst: int = 5

    def __post_init__(self) -> None:
        self._bot = (float(self.burst), time.monotonic())
        self._chats: dict[Any, tuple[float, float]] = {}

    @staticmethod
    def counted(method: str) -> bool:
        return method.startswith(("send", "edit", "copy", "forward")) and method != "sendChatAction"

    def take(self, chat_id: Any, now: float | None = None) -> float:
        """0 when the call may go (its tokens are taken), else the seconds to wait."""
        now = time.monotonic() if now is None else now

        def level(bucket: tuple[float, float], rate: float, cap: int) -> float:
            return min(float(cap), bucket[0] + (now - bucket[1]) * rate)

        bot = level(self._bot, self.per_second, self.burst)
        chat = level(self._chats.get(chat_id, (float(self.chat_burst), now)), self.chat_per_second, self.chat_burst)
        wait = max((1 - bot) / self.per_second if bot < 1 else 0.0,
                   (1 - chat) / self.chat_per_second if chat_id is not None and chat < 1 else 0.0)
        if wait > 0:
            return wait
        self._bot = (bot - 1, now)
        if chat_id is not None:
            self._chats[chat_id] = (chat - 1, now)
        return 0.0


def _decode(key: str, value: Any) -> Any:
    """Best-effort typing of form values: ints for id-like keys, JSON for objects/bools."""
    if not isinstance(value, str) or key in TEXT_KEYS:
        return value
    try:
        if key in INT_KEYS:
            return int(value)
        if value[:1] in "{[" or value in ("true", "false"):
            return json.loads(value)
    except ValueError:
        pass
    return value


class FakeBotAPI:
    def __init__(self, token: str = "123456:TEST-token-for-tests-only",
                 bot_username: str = "dispute_test_bot", *, rate_limits: RateLimits | None = None):
        self.token = token
        self.rate_limits = rate_limits
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True,
                         "first_name": "Dispute Test Bot", "username": bot_username}
        self.url = ""
        self.requests: list[Request] = []
        self.files: dict[str, bytes] = {}
        self.updates: deque[dict] = deque()       # pushed and not yet confirmed
        self.messages: dict[tuple[Any, int], dict] = {}   # (chat_id, message_id) -> Message
        self._last_update_id = 0
        self._ids = itertools.count(1)            # callback query / file ids
        self._message_ids: dict[Any, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._failures: dict[str, deque[APIError]] = defaultdict(deque)
        self._blocked: set[int] = set()
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        # A fixed network round trip added to every answer (getUpdates: after its updates
        # are known, so an update reaches the bot ``latency`` after it is pushed).
        self.latency = 0.0
        self._drops: Counter[str] = Counter()
        self._new_update = asyncio.Event()
        self._polls = 0                           # getUpdates calls so far (the newest wins)
        self._mark = 0                            # wait_for() looks at requests from here on
        self._runner: web.AppRunner | None = None
        self._stopped = False

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._stopped = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- driving the bot
    def push_update(self, update: dict) -> int:
        if "update_id" not in update:
            update = {"update_id": self._last_update_id + 1, **update}
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self.updates.append(update)
        self._mark = len(self.requests)
        self._wake_pollers()
        return update["update_id"]

    def user(self, user_id: int, language_code: str = "en") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                "username": f"user{user_id}", "language_code": language_code}

    def user_message(self, user_id: int, text: str | None, *, language_code: str = "en",
                     **extra) -> int:
        msg = self._message(user_id, self.user(user_id, language_code))
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                msg["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        msg.update(extra)
        return self.push_update({"message": msg})

    def user_document(self, user_id: int, data: bytes, filename: str, **extra) -> int:
        file_id = self.add_file(data)
        doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": filename,
               "file_size": len(data)}
        return self.user_message(user_id, None, document=doc, **extra)

    def user_photo(self, user_id: int, data: bytes, **extra) -> int:
        return self.user_message(user_id, None, photo=[self._photo_size(self.add_file(data))], **extra)

    def user_callback(self, user_id: int, data: str, message_id: int, *,
                      language_code: str = "en") -> int:
        message = self.messages.get((user_id, message_id)) or {
            "message_id": message_id, "date": int(time.time()), "text": "",
            "chat": self._chat(user_id), "from": self.bot_user}
        return self.push_update({"callback_query": {
            "id": str(next(self._ids)), "from": self.user(user_id, language_code),
            "chat_instance": f"ci{user_id}", "data": data, "message": message}})

    def add_file(self, data: bytes, file_id: str | None = None) -> str:
        file_id = file_id or f"file{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    # ---------------------------------------------------------------- observing
    def calls(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Params of successful sendMessage/sendDocument/sendPhoto/editMessageText calls."""
        return [r.params for r in self.requests
                if r.method in SENT_METHODS and r.status == 200
                and (chat_id is None or r.params.get("chat_id") == chat_id)]

    def mark(self) -> int:
        """Make wait_for() ignore everything recorded so far (push_update does this too)."""
        self._mark = len(self.requests)
        return self._mark

    async def wait_for(self, predicate: Callable[[Request], bool] | str,
                       timeout: float = 10.0, *, since: int | None = None) -> Request:
        """First request matching ``predicate`` (or a method name) recorded after the last
        push_update()/mark() (or index ``since``); waits for it up to ``timeout`` s."""
        if isinstance(predicate, str):
            method, predicate = predicate, (lambda r: r.method == method)
        start = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            # A request still being answered (a long-polling getUpdates nearly
            # always is) is looked at again on the next pass.
            pending = None
            for j in range(start, len(self.requests)):
                r = self.requests[j]
                if r.status is None:
                    pending = j if pending is None else pending
                elif predicate(r):
                    return r
            start = len(self.requests) if pending is None else pending
            if time.monotonic() >= deadline:
                recent = [r for r in self.requests if r.method != "getUpdates"][-15:]
                dump = "\n".join(f"  {r.method} [{r.status}] {r.params}" for r in recent)
                raise TimeoutError(f"no matching request within {timeout}s; recent:\n{dump}")
            await asyncio.sleep(0.02)

    # ---------------------------------------------------------------- fault injection
    def fail_next(self, method: str, *, status: int, description: str = "",
                  retry_after: int | None = None, times: int = 1) -> None:
        if not description:
            description = (f"Too Many Requests: retry after {retry_after}" if status == 429
                           else HTTPStatus(status).phrase)
        for _ in range(times):
            self._failures[method].append(APIError(status, description, retry_after))

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next call(s) of ``method`` get no answer: the connection is dropped (a network error)."""
        self._drops[method] += times

    def delay_next(self, method: str, seconds: float) -> None:
        """The next call of ``method`` is answered only after ``seconds`` (a slow network)."""
        self._delays[method].append(seconds)

    def block_user(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    # ---------------------------------------------------------------- HTTP side
    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        method = request.match_info["method"]
        params = await self._parse(request)
        rec = Request(method, params, time.monotonic())
        self.requests.append(rec)
        if self._delays[method]:
            await asyncio.sleep(self._delays[method].popleft())
        try:
            if self._drops[method] > 0:
                self._drops[method] -= 1
                raise Dropped()
            if self._failures[method]:
                raise self._failures[method].popleft()
            if params.get("chat_id") in self._blocked:
                raise APIError(403, "Forbidden: bot was blocked by the user")
            if method == "getUpdates":
                result = await self._get_updates(params)
            else:
                result = self._dispatch(method, params)
        except APIError as e:
            rec.status = e.status
            rec.limited = isinstance(e, RateLimited)
            await self._latency(rec)
            return e.response()
        except Dropped:
            rec.status = 0
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        rec.status = 200
        await self._latency(rec)
        return web.json_response({"ok": True, "result": result})

    async def _latency(self, rec: Request) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        rec.answered_at = time.monotonic()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        data = self.files.get(request.match_info["path"].rsplit("/", 1)[-1])
        if data is None:
            return APIError(404, "Not Found: file not found").response()
        return web.Response(body=data, content_type="application/octet-stream")

    async def _parse(self, request: web.Request) -> dict:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json() or {})
        elif request.can_read_body:
            uploads: dict[str, dict] = {}
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    uploads[key] = {"filename": value.filename, "size": len(data), "bytes": data}
                else:
                    params[key] = value
            for key, value in list(params.items()):  # aiogram sends files as "attach://<field>"
                if isinstance(value, str) and value.startswith("attach://"):
                    params[key] = uploads.pop(value[len("attach://"):], value)
            params.update(uploads)
        return {k: _decode(k, v) for k, v in params.items()}

    async def _get_updates(self, params: dict) -> list[dict]:
        # Like Telegram: a getUpdates ends an older one still waiting with 409 Conflict
        # (two bot instances with one token). One instance polls one call at a time.
        self._polls += 1
        poll = self._polls
        self._wake_pollers()
        offset, limit = params.get("offset") or 0, min(params.get("limit") or 100, 100)
        if offset < 0 and self.updates:  # -N: only the last N updates
            offset = self.updates[max(0, len(self.updates) + offset)]["update_id"]
        while self.updates and offset and self.updates[0]["update_id"] < offset:
            self.updates.popleft()  # confirmed
        allowed = params.get("allowed_updates") or None
        if allowed:  # real Telegram drops update types the bot did not ask for
            self.updates = deque(u for u in self.updates if (set(u) - {"update_id"}) & set(allowed))
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 60.0)
        while not self.updates and time.monotonic() < deadline and not self._stopped:
            event = self._new_update
            try:
                await asyncio.wait_for(event.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
            if poll != self._polls:
                raise APIError(409, CONFLICT)
        return list(itertools.islice(self.updates, limit))

    def _wake_pollers(self) -> None:
        self._new_update.set()
        self._new_update = asyncio.Event()

    # ---------------------------------------------------------------- methods
    def _dispatch(self, method: str, p: dict) -> Any:
        if self.rate_limits is not None and self.rate_limits.counted(method):
            wait = self.rate_limits.take(p.get("chat_id"))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise RateLimited(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if method == "getMe":
            return self.bot_user
        if method in OK_TRUE:
            if method == "deleteWebhook" and p.get("drop_pending_updates"):
                self.updates.clear()
            if method == "editMessageReplyMarkup" and (msg := self.messages.get(
                    (p.get("chat_id"), p.get("message_id")))):
                msg.pop("reply_markup", None)
                self._store(msg, p)
            return True
        if method == "getMyCommands":
            return []
        if method == "getFile":
            data = self.files.get(p.get("file_id"))
            if data is None:
                raise APIError(400, "Bad Request: invalid file_id")
            return {"file_id": p["file_id"], "file_unique_id": f"u{p['file_id']}",
                    "file_size": len(data), "file_path": f"documents/{p['file_id']}"}
        if method == "sendMessage":
            return self._bot_message(p, text=p.get("text", ""))
        if method == "sendDocument":
            return self._bot_message(p, document=self._media(p.get("document")))
        if method == "sendPhoto":
            return self._bot_message(p, photo=[self._photo_size(self._media(p.get("photo"))["file_id"])])
        if method == "copyMessage":
            return {"message_id": self._bot_message(p)["message_id"]}
        if method == "editMessageText":
            if "inline_message_id" in p:
                return True
            msg = dict(self.messages.get((p.get("chat_id"), p.get("message_id")))
                       or self._message(p.get("chat_id"), self.bot_user, p.get("message_id")))
            msg.update(text=p.get("text", ""), edit_date=int(time.time()))
            msg.pop("reply_markup", None)
            return self._store(msg, p)
        raise APIError(404, "Not Found: method not found")

    def _chat(self, chat_id: Any) -> dict:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}

    def _message(self, chat_id: Any, sender: dict, message_id: int | None = None) -> dict:
        return {"message_id": message_id or next(self._message_ids[chat_id]),
                "date": int(time.time()), "chat": self._chat(chat_id), "from": sender}

    def _bot_message(self, p: dict, **content) -> dict:
        msg = self._message(p.get("chat_id"), self.bot_user)
        msg.update(content)
        if "caption" in p:
            msg["caption"] = p["caption"]
        return self._store(msg, p)

    def _store(self, msg: dict, p: dict) -> dict:
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:  # only inline ones are echoed
            msg["reply_markup"] = markup
        self.messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def _media(self, value: Any) -> dict:
        """Uploaded file (dict from _parse) or a file_id/URL string -> Document-like dict."""
        if isinstance(value, dict):
            file_id = self.add_file(value["bytes"])
            return {"file_id": file_id, "file_unique_id": f"u{file_id}",
                    "file_name": value["filename"], "file_size": value["size"]}
        return {"file_id": str(value), "file_unique_id": f"u{value}"}

    def _photo_size(self, file_id: str) -> dict:
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600,
                "file_size": len(self.files.get(file_id, b""))}
