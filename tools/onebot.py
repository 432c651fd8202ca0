"""A minimal OneBot v11 implementation side, speaking reverse WebSocket like NapCat.

Used by the end-to-end tests (``tests/e2e``), the benchmarks and the playground
(``python -m tools.playground``): ``BotProcess`` runs the real ``bot.py``; ``OneBotClient``
connects to it, posts events and answers the bot's API calls (``respond`` decides the answer).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "e2e-secret"
SELF_ID = 3000000001
_message_ids = itertools.count(1000)
_last_time = [0]


def event_time() -> int:
    """Now, but strictly after the previous event: a person cannot type twice in one second,
    and the bot takes the same text from the same person at the same event time as a
    re-delivery (tests of re-delivery post the same event twice on purpose)."""
    _last_time[0] = max(int(time.time()), _last_time[0] + 1)
    return _last_time[0]


class BotTime:
    """The clock every ``BotProcess`` is started on, as the tests read it: the wall clock plus
    ``offset`` seconds (the bot's ``CLOCK_OFFSET_SECONDS``). Tests take dates and times they
    type or expect from here, never from the wall clock, so they pass on any date."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(self.tz) + timedelta(seconds=self.offset)

    def timestamp(self) -> float:
        return time.time() + self.offset

    def start_at(self, spec: str) -> None:
        """Start the clock at ``spec`` (in the bot's timezone):

        - "" : the wall clock;
        - "+400d", "+36h", "+90m": that far ahead of it;
        - "2028-12-31 23:59:30": that moment (not in the past);
        - "12-31 23:59:30" or "sunday 12-31 23:59:30": the next such moment, in the first
          year where that day falls on that weekday (never goes stale, unlike a fixed year).
        """
        spec = " ".join(spec.split()).lower()
        if not spec:
            self.offset = 0.0
            return
        if spec.startswith("+"):
            units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
            self.offset = float(spec[1:-1]) * units[spec[-1]]
        elif spec[:4].isdigit():
            moment = datetime.strptime(spec, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.tz)
            self.offset = moment.timestamp() - time.time()
        else:
            self.offset = self._next(spec).timestamp() - time.time()
        if self.offset < 0:
            raise ValueError(f"the bot's clock cannot start in the past: {spec!r}")

    def _next(self, spec: str) -> datetime:
        words = spec.split()
        weekday = None
        if len(words) == 3:
            days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            weekday = days.index(words.pop(0))
        now = datetime.now(self.tz)
        for year in range(now.year, now.year + 30):
            try:
                moment = datetime.strptime(f"{year}-{words[0]} {words[1]}", "%Y-%m-%d %H:%M:%S")
            except ValueError:  # 02-29 in a year that has none
                continue
            moment = moment.replace(tzinfo=self.tz)
            if moment > now and (weekday is None or moment.weekday() == weekday):
                return moment
        raise ValueError(f"no such moment in the next 30 years: {spec!r}")

    def env(self) -> dict[str, str]:
        """The environment that starts a bot process on this clock."""
        return {"CLOCK_OFFSET_SECONDS": f"{self.offset:.3f}"} if self.offset else {}


bot_time = BotTime()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """``python bot.py`` with its own port and database."""

    def __init__(self, db_path: Path, log_path: Path, script: Path = ROOT / "bot.py",
                 **env: str) -> None:
        self.script = script
        self.port = free_port()
        self.db_path = db_path
        self.log_path = log_path
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "BRANCH_DB_PATH": str(db_path),
            "ONEBOT_ACCESS_TOKEN": TOKEN,
            "SUPERUSERS": '["10000"]',
            "LOG_LEVEL": "INFO",
            # tests answer one command at a time; the reply pace has tests of its own
            "REPLY_INTERVAL_SECONDS": "0",
            **bot_time.env(),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # a second bot on the same port would find the first one listening and be mistaken
            # for it (then killing "the bot" would kill the wrong process)
            raise RuntimeError("bot.py is still running: stop() or kill it before start()")
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(self.script)], cwd=self.script.parent, env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot.py exited: {self.log_path.read_text()[-3000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("bot.py did not start listening in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            if os.name == "nt":  # no SIGINT for a child process on Windows
                self.proc.terminate()
            else:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class OneBotClient:
    """Connects to the bot, posts events, records and answers the bot's API calls."""

    def __init__(self, port: int, token: str = TOKEN, self_id: int = SELF_ID) -> None:
        self.url = f"ws://127.0.0.1:{port}/onebot/v11/ws"
        self.token = token
        self.self_id = self_id
        self.ws: ClientConnection | None = None
        self.calls: asyncio.Queue[dict] = asyncio.Queue()
        self.results: dict[str, dict] = {}  # action -> canned response data
        self.failures: dict[str, int] = {}  # action -> how many calls to fail first
        # actions answered but not queued: what the bot asks every account at connect, and
        # whatever a test adds (e.g. role look-ups)
        self.quiet: set[str] = {"get_version_info", "get_group_list", "get_friend_list"}
        self.quiet_calls: list[dict] = []
        self.refuse_images = False  # a QQ side that fails every message with a picture
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> OneBotClient:
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": "Universal",
                   "User-Agent": "NapCat/e2e"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.ws = await connect(self.url, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        await self.post({
            "time": int(time.time()), "self_id": self.self_id, "post_type": "meta_event",
            "meta_event_type": "lifecycle", "sub_type": "connect",
        })
        return self

    async def __aexit__(self, *exc) -> None:
        if self._reader:
            self._reader.cancel()
        if self.ws:
            await self.ws.close()

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            call = json.loads(raw)
            action = call.get("action")
            if action in self.quiet:
                self.quiet_calls.append(call)
            else:
                await self.calls.put(call)
            refused = self.refuse_images and has_image(call)
            if refused or self.failures.get(action, 0) > 0:
                if not refused:
                    self.failures[action] -= 1
                reply = {"status": "failed", "retcode": 1200, "data": None,
                         "message": "e2e failure", "echo": call.get("echo")}
            else:
                data = self.respond(call)
                reply = {"status": "ok", "retcode": 0, "data": data, "echo": call.get("echo")}
            await self.ws.send(json.dumps(reply, ensure_ascii=False))

    def respond(self, call: dict):
        """The data answering one API call: a canned ``results`` entry, else a message id."""
        return self.results.get(call.get("action"), {"message_id": next(_message_ids)})

    async def post(self, event: dict) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(event, ensure_ascii=False))

    async def group_message(self, group_id: int, user_id: int, segments: list[dict] | str,
                            role: str = "member") -> None:
        """Post a group message; ``segments`` as NapCat's array format, or one text string."""
        if isinstance(segments, str):
            segments = [{"type": "text", "data": {"text": segments}}]
        raw = "".join(s["data"].get("text", "") for s in segments)
        await self.post({
            "time": event_time(), "self_id": self.self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal", "message_id": next(_message_ids),
            "group_id": group_id, "user_id": user_id, "anonymous": None, "message": segments,
            "raw_message": raw, "font": 14,
            "sender": {"user_id": user_id, "nickname": f"u{user_id}", "card": "", "role": role},
        })

    async def post_raw_string(self, group_id: int, user_id: int, typed: str) -> None:
        """Post a message in OneBot's string format, escaping what the user typed."""
        escaped = typed.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
        await self.post({
            "time": event_time(), "self_id": self.self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal", "message_id": next(_message_ids),
            "group_id": group_id, "user_id": user_id, "message": escaped,
            "raw_message": escaped, "font": 14,
            "sender": {"user_id": user_id, "nickname": f"u{user_id}", "role": "member"},
        })

    async def private_message(self, user_id: int, typed: str) -> None:
        await self.post({
            "time": event_time(), "self_id": self.self_id, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": next(_message_ids),
            "user_id": user_id, "message": [{"type": "text", "data": {"text": typed}}],
            "raw_message": typed, "font": 14,
            "sender": {"user_id": user_id, "nickname": f"u{user_id}"},
        })

    async def next_call(self, timeout: float = 10) -> dict:
        return await asyncio.wait_for(self.calls.get(), timeout)

    async def until_quiet(self, quiet: float = 1.5) -> list[dict]:
        """Every call until the bot has been quiet for ``quiet`` seconds."""
        calls = []
        while True:
            try:
                calls.append(await self.next_call(timeout=quiet))
            except TimeoutError:
                return calls

    async def set_up_group(self, group_id: int, owner_id: int, name: str = "测试支部") -> dict:
        """The group owner makes the group a branch (``/支部 创建``), as a secretary does first."""
        call = await self.reply_to(group_id, owner_id, f"/支部 创建 {name}", role="owner")
        assert "已创建支部" in message_text(call), call
        return call

    async def reply_to(self, group_id: int, user_id: int, text: str, role: str = "member",
                       timeout: float = 10) -> dict:
        """Send ``text`` and return the bot's next API call (its reply)."""
        await self.group_message(group_id, user_id, text, role)
        return await self.next_call(timeout)


def message_text(call: dict) -> str:
    """Text of a send_msg / send_group_msg call; fails if the message is not a segment list."""
    message = call["params"]["message"]
    assert isinstance(message, list), f"message must be segments, got {message!r}"
    return "".join(seg["data"]["text"] for seg in message if seg["type"] == "text")


def has_image(call: dict) -> bool:
    message = (call.get("params") or {}).get("message")
    return isinstance(message, list) and any(seg.get("type") == "image" for seg in message)


def segment_types(call: dict) -> list[str]:
    return [seg["type"] for seg in call["params"]["message"]]
