"""The OneBot v11 adapter as 支部助手 serves it (``bot.py`` registers this class).

NoneBot's adapter speaks the protocol; this subclass decides what may reach it:

- **Transport.** The QQ side connects over reverse WebSocket (``/onebot/v11/ws``), checked by
  ``ONEBOT_ACCESS_TOKEN``. NoneBot's adapter also takes events by HTTP POST (``/onebot/v11/``,
  ``/onebot/v11/http``), checked only by ``ONEBOT_SECRET``: without a secret, anyone who can
  reach the port could post an event as any QQ user. Those routes refuse every request unless
  ``onebot_http_post`` is on; the bot refuses to start with it on and no secret, and refuses
  to start on a ``HOST`` other machines can reach without an access token.
- **Frames.** A frame that is not JSON (or a binary frame) is logged in one line and skipped;
  the connection stays. API answers are routed at once; events wait in a queue (at most
  ``event_queue_max``) and at most ``event_workers`` are handled at a time (per connection, and
  per account posting over HTTP), so a burst of thousands costs a queue of short strings
  instead of thousands of live handlers (memory: bench/memory_growth.py).
- **Size.** An event whose message has more than ``event_max_segments`` segments or
  ``event_max_chars`` characters is dropped before it is parsed, with one log line.
- **Privacy.** Events are logged without private text (``runtime/privacy.py``); one that fails
  to parse is logged by its type, sender and size, never its content.

The log file (``runtime/logs.py``) is opened here, the first thing ``bot.py`` runs after
``nonebot.init()``, so a refusal to start is in it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any

from nonebot import get_plugin_config
from nonebot.adapters.onebot.v11 import Adapter as OneBotAdapter
from nonebot.adapters.onebot.v11 import Bot, Event
from nonebot.adapters.onebot.v11.config import Config as OneBotConfig
from nonebot.adapters.onebot.v11.utils import log
from nonebot.compat import type_validate_python
from nonebot.drivers import Driver, Request, Response, WebSocket
from nonebot.exception import WebSocketClosed
from nonebot.utils import escape_tag

from config import BranchConfig
from runtime.logs import add_log_file
from runtime.privacy import hide_private_text

STARTUP_REFUSED_EXIT = 78  # EX_CONFIG: the settings do not allow a safe start
HTTP_OFF = ("HTTP POST events are off: connect over reverse WebSocket (/onebot/v11/ws), or set "
            "ONEBOT_HTTP_POST=true and ONEBOT_SECRET")
REFUSAL_LOG_EVERY_SECONDS = 600.0  # refused HTTP posts are logged at most this often
_STOP = object()


def transport_problem(host: str, access_token: str | None, secret: str | None,
                      http_post: bool) -> str | None:
    """Why these connection settings are unsafe to start with, naming the setting; or None."""
    if http_post and not secret:
        return ("ONEBOT_HTTP_POST is on but ONEBOT_SECRET is empty: anyone who reaches the port "
                "could post events as any QQ user. Set ONEBOT_SECRET (the same secret in the QQ "
                "side's HTTP POST settings), or turn ONEBOT_HTTP_POST off.")
    try:
        loopback = ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        loopback = str(host) == "localhost"
    if not loopback and not access_token:
        return (f"HOST={host} can be reached from other machines but ONEBOT_ACCESS_TOKEN is "
                "empty: anyone who reaches the port could connect as the QQ side. Set "
                "ONEBOT_ACCESS_TOKEN (and the same token in NapCat/Lagrange), or HOST=127.0.0.1.")
    return None


@dataclass(frozen=True)
class EventLimits:
    """How much one incoming message may carry."""

    max_segments: int = 300
    max_chars: int = 50_000

    def excess(self, data: dict[str, Any]) -> str | None:
        """Why the event ``data`` is too big to parse, or None. Counts before any parsing."""
        message = data.get("message")
        chars = 0
        if isinstance(message, list):
            if len(message) > self.max_segments:
                return (f"{len(message)} segments (event_max_segments is "
                        f"{self.max_segments})")
            for segment in message:
                fields = segment.get("data") if isinstance(segment, dict) else None
                if isinstance(fields, dict):
                    chars += sum(len(v) for v in fields.values() if isinstance(v, str))
        elif isinstance(message, str):
            chars = len(message)
        raw = data.get("raw_message")
        if isinstance(raw, str):
            chars = max(chars, len(raw))
        if chars > self.max_chars:
            return f"{chars} characters (event_max_chars is {self.max_chars})"
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return escape_tag(text if len(text) <= 24 else text[:21] + "...")


def describe(data: dict[str, Any], size: int | None = None) -> str:
    """An event for the log: its kind, sender, chat and id, never its text."""
    kind = "/".join(str(data.get(k)) for k in ("post_type", "message_type", "notice_type",
                                               "request_type", "meta_event_type") if k in data)
    parts = [f"event {_short(kind)}"]
    for key in ("message_id", "user_id", "group_id"):
        if key in data:
            parts.append(f"{key} {_short(data[key])}")
    if size is not None:
        parts.append(f"{size} bytes")
    return ", ".join(parts)


class Adapter(OneBotAdapter):
    """NoneBot's OneBot v11 adapter with the checks above."""

    limits = EventLimits()

    def __init__(self, driver: Driver, **kwargs: Any) -> None:
        settings = get_plugin_config(BranchConfig)
        add_log_file(settings)
        hide_private_text()
        onebot = get_plugin_config(OneBotConfig)
        problem = transport_problem(str(driver.config.host), onebot.onebot_access_token,
                                    onebot.onebot_secret, settings.onebot_http_post)
        if problem is not None:
            log("ERROR", f"Refusing to start: {escape_tag(problem)}")
            raise SystemExit(STARTUP_REFUSED_EXIT)
        self.settings = settings
        type(self).limits = EventLimits(settings.event_max_segments, settings.event_max_chars)
        self._refused_logged_at = float("-inf")
        self._http_inboxes: dict[str, EventInbox] = {}
        super().__init__(driver, **kwargs)

    # -- events from JSON ------------------------------------------------------------------

    @classmethod
    def json_to_event(cls, json_data: Any) -> Event | None:
        """An event from its JSON, or None: an API answer (stored for its caller), an event
        over the limits, or one no model accepts — logged without its text."""
        if not isinstance(json_data, dict):
            return None
        if "post_type" not in json_data:
            cls._result_store.add_result(json_data)
            return None
        excess = cls.limits.excess(json_data)
        if excess is not None:
            log("WARNING", f"Dropped {describe(json_data)}: {excess}")
            return None
        for model in cls.get_event_model(json_data):
            with contextlib.suppress(Exception):  # the errors quote the input: never logged
                return type_validate_python(model, json_data)
        log("WARNING", f"Failed to parse {describe(json_data)}; ignored")
        return None

    # -- HTTP POST --------------------------------------------------------------------------

    async def _handle_http(self, request: Request) -> Response:
        if not self.settings.onebot_http_post:
            now = time.monotonic()
            if now - self._refused_logged_at >= REFUSAL_LOG_EVERY_SECONDS:
                self._refused_logged_at = now
                log("WARNING", f"Refused an HTTP POST to {escape_tag(str(request.url.path))}: "
                               f"{HTTP_OFF} (logged at most every 10 minutes)")
            return Response(403, content=HTTP_OFF)
        self_id = request.headers.get("x-self-id")
        if not self_id:
            return Response(400, content="Missing X-Self-ID Header")
        refused = self._check_signature(request)
        if refused is not None:
            return refused
        body = request.content or b""
        try:
            json.loads(body)
        except ValueError:
            log("WARNING", "Ignored an HTTP POST whose body is not JSON")
            return Response(400, content="Invalid request body")
        bot = self.bots.get(self_id)
        if bot is None:
            bot = Bot(self, self_id)
            self.bot_connect(bot)
            log("INFO", f"<y>Bot {escape_tag(self_id)}</y> connected")
        inbox = self._http_inboxes.get(self_id)
        if inbox is None:  # posted events wait their turn like the WebSocket's
            inbox = self._http_inboxes[self_id] = self._open_inbox(bot)  # type: ignore[arg-type]
        self._take_frame(bot, body, inbox)  # type: ignore[arg-type]
        return Response(204)

    # -- reverse WebSocket ------------------------------------------------------------------

    async def _handle_ws(self, websocket: WebSocket) -> None:
        self_id = websocket.request.headers.get("x-self-id")
        if not self_id:
            log("WARNING", "Missing X-Self-ID Header")
            await websocket.close(1008, "Missing X-Self-ID Header")
            return
        if self_id in self.bots:
            log("WARNING", f"There's already a bot {escape_tag(self_id)}, ignored")
            await websocket.close(1008, "Duplicate X-Self-ID")
            return
        refused = self._check_access_token(websocket.request)
        if refused is not None:
            await websocket.close(1008, str(refused.content))
            return
        await websocket.accept()
        bot = Bot(self, self_id)
        self.bot_connect(bot)
        self.connections[self_id] = websocket
        log("INFO", f"<y>Bot {escape_tag(self_id)}</y> connected")
        inbox = self._open_inbox(bot)
        try:
            while True:
                self._take_frame(bot, await websocket.receive(), inbox)
        except WebSocketClosed:
            log("WARNING", f"WebSocket for Bot {escape_tag(self_id)} closed by peer")
        except Exception as e:
            log("ERROR", "<r><bg #f8bbd0>Error while process data from websocket for bot "
                         f"{escape_tag(self_id)}.</bg #f8bbd0></r>", e)
        finally:
            inbox.close(self.settings.event_workers)  # the workers finish what was queued
            with contextlib.suppress(Exception):
                await websocket.close()
            self.connections.pop(self_id, None)
            self.bot_disconnect(bot)

    def _take_frame(self, bot: Bot, data: str | bytes, inbox: EventInbox) -> None:
        """Route one frame: an API answer now, an event into the queue, garbage to the log."""
        try:
            json_data = json.loads(data)
        except ValueError:  # not JSON, or bytes that are not UTF-8
            kind = "binary" if isinstance(data, bytes) else "text"
            log("WARNING", f"Ignored a {kind} frame from Bot {escape_tag(bot.self_id)} that is "
                           f"not JSON ({len(data)} bytes)")
            return
        if not isinstance(json_data, dict):
            log("WARNING", f"Ignored a frame from Bot {escape_tag(bot.self_id)} that is not "
                           "a JSON object")
            return
        if "post_type" not in json_data:
            self._result_store.add_result(json_data)
            return
        excess = self.limits.excess(json_data)
        if excess is not None:
            log("WARNING", f"Dropped {describe(json_data, len(data))}: {excess}")
            return
        if not inbox.put(data):
            inbox.dropped += 1
            if inbox.dropped == 1 or inbox.dropped % 1000 == 0:
                log("WARNING", f"Bot {escape_tag(bot.self_id)}: {inbox.dropped} events dropped "
                               "so far, the queue is full (event_queue_max is "
                               f"{self.settings.event_queue_max})")

    def _open_inbox(self, bot: Bot) -> EventInbox:
        """A queue for ``bot``'s events, with ``event_workers`` workers taking from it."""
        inbox = EventInbox(self.settings.event_queue_max)
        for _ in range(self.settings.event_workers):
            self._spawn(self._work(bot, inbox))
        return inbox

    async def _work(self, bot: Bot, inbox: EventInbox) -> None:
        """One of the connection's workers: handle queued events one at a time."""
        while (data := await inbox.get()) is not _STOP:
            await self._handle_frame(bot, data)  # type: ignore[arg-type]

    async def _handle_frame(self, bot: Bot, data: str | bytes) -> None:
        try:
            event = self.json_to_event(json.loads(data))
            if event is not None:
                await bot.handle_event(event)
        except Exception as e:
            log("ERROR", "Error while handling an event", e)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)


class EventInbox:
    """The frames of one connection's events waiting for a worker, oldest first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0
        self._frames: asyncio.Queue[object] = asyncio.Queue()

    def put(self, frame: object) -> bool:
        """Queue ``frame``; False when the queue is full."""
        if self._frames.qsize() >= self.limit:
            return False
        self._frames.put_nowait(frame)
        return True

    async def get(self) -> object:
        return await self._frames.get()

    def close(self, workers: int) -> None:
        """Stop ``workers`` workers once the frames queued now are handled."""
        for _ in range(workers):
            self._frames.put_nowait(_STOP)
