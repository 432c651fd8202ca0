"""The OneBot v11 implementation side, speaking reverse WebSocket like NapCat.

Used by the end-to-end tests (``tests/e2e``), the benchmarks and the playground
(``python -m tools.playground``): ``BotProcess`` runs the real ``bot.py``; ``OneBotClient``
is one QQ account connected to it: it posts events and answers the bot's API calls the way
its implementation profile does (``tools/qqprofiles.py``: plain, napcat, llonebot, lagrange),
in a simulated QQ that several accounts can share (``tools/qqworld.py``, ``QQWorld``).
"""

from __future__ import annotations

import asyncio
import json
import logging
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

from tools.qqprofiles import Ctx, get_profile
from tools.qqworld import (
    FriendRequest,
    GroupMessage,
    PrivateMessage,
    QQWorld,
    Segments,
    event_time,
    text_segments,
)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "e2e-secret"
SELF_ID = 3000000001
BY_PROFILE = object()  # ``respond``: no canned answer, the profile answers
log = logging.getLogger(__name__)


class ProfileChoice:
    """The profile a ``OneBotClient`` takes when none is given: "plain", except inside an
    end-to-end test, whose fixture sets the test's profile here (``tests/e2e/conftest.py``)."""

    def __init__(self) -> None:
        self.name = "plain"


default_profile = ProfileChoice()
fake_errors: list[str] = []  # every client's crashes while answering (the e2e tests check it)


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
            # Lagrange takes files by path only: its deployments share the bot's disk and say
            # so (README, "QQ sides"); the simulated QQ shares it unless a test says otherwise
            "ONEBOT_SHARES_FILESYSTEM": str(default_profile.name == "lagrange").lower(),
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
    """One QQ account: connects to the bot, posts events, records and answers its API calls.

    ``profile``: how it answers ("plain", "napcat", "llonebot", "lagrange"; default: the
    current test's, see ``default_profile``). ``world``: the QQ it lives in (shared by several
    clients; its own when not given). ``options`` are the account's switches
    (``tools.qqworld.Account``: ``report_self``, ``packet_backend``, ``local_file2url``,
    ``answer_delay``, ``timeout_delay``, ``risk_control``, ``upload_fails``, ``nickname``).

    ``results`` (action -> data) pins an answer (it wins over the profile); ``failures``
    (action -> n) fails the next n calls; ``quiet`` actions are answered but not queued.
    """

    def __init__(self, port: int, token: str = TOKEN, self_id: int = SELF_ID, *,
                 profile: str | None = None, world: QQWorld | None = None,
                 **options) -> None:
        self.url = f"ws://127.0.0.1:{port}/onebot/v11/ws"
        self.token = token
        self.self_id = self_id
        self.profile = get_profile(profile or default_profile.name)
        self.world = world if world is not None else QQWorld()
        self.account = self.world.account(self_id, self.profile.name, **options)
        self.ws: ClientConnection | None = None
        self.calls: asyncio.Queue[dict] = asyncio.Queue()
        self.results: dict[str, dict] = {}  # action -> canned response data
        self.failures: dict[str, int] = {}  # action -> how many calls to fail first
        # actions answered but not queued: what the bot asks every account at connect, and
        # whatever a test adds (e.g. role look-ups)
        self.quiet: set[str] = {"get_version_info", "get_group_list", "get_friend_list"}
        self.quiet_calls: list[dict] = []
        self.refuse_images = False  # a QQ side that fails every message with a picture
        self.errors: list[str] = []  # the fake's own crashes while answering (a bug here)
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> OneBotClient:
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": "Universal",
                   "User-Agent": "NapCat/e2e"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.ws = await connect(self.url, additional_headers=headers)
        self.account.client = self
        self._reader = asyncio.create_task(self._read())
        await self.post({
            "time": int(time.time()), "self_id": self.self_id, "post_type": "meta_event",
            "meta_event_type": "lifecycle", "sub_type": "connect",
        })
        return self

    async def __aexit__(self, *exc) -> None:
        if self.account.client is self:
            self.account.client = None
        for task in [self._reader, *self._tasks]:
            if task:
                task.cancel()
        if self.ws:
            await self.ws.close()
        if not any(a.client for a in self.world.accounts.values()):
            self.world.close()

    # -- answering the bot ------------------------------------------------------------------

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            call = json.loads(raw)
            reply, delay, after = self._answer(call)
            if call.get("action") in self.quiet:
                self.quiet_calls.append(call)
            else:
                self.calls.put_nowait(call)  # after answering: the world shows the send
            text = json.dumps(reply, ensure_ascii=False)
            if delay > 0:
                self._later(delay, self.ws.send(text))
            else:
                await self.ws.send(text)
            for wait, event in after:
                self._later(wait, event())

    def _later(self, delay: float, coro) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _answer(self, call: dict) -> tuple[dict, float, list]:
        ctx = Ctx(self.world, self.account, call)
        try:
            if self.refuse_images and has_image(call):  # a side that refuses every picture
                reply = self.profile.fail(ctx, "e2e failure")
            elif self.failures.get(ctx.action, 0) > 0:
                self.failures[ctx.action] -= 1
                reply = self.profile.fail(ctx, "e2e failure")
            else:
                data = self.respond(call)
                reply = (self.profile.answer(ctx) if data is BY_PROFILE
                         else self.profile.ok(ctx, data))
        except Exception as exc:  # a bug in the fake: answer, and keep it for the test
            log.exception("the fake OneBot side failed to answer %s", call)
            self.errors.append(f"{ctx.action}: {type(exc).__name__}: {exc}")
            fake_errors.append(self.errors[-1])
            reply, ctx.after = self.profile.fail(ctx, f"fake error: {exc}"), []
        return reply, max(ctx.delay, self.account.answer_delay), ctx.after

    def answer(self, call: dict) -> dict:
        """The answer to one API call (``{"action", "params", "echo"}``), as the bot would get
        it; its side effects (the world, events to post) happen as for a real call."""
        reply, _, after = self._answer(call)
        for wait, event in after:
            self._later(wait, event())
        return reply

    def respond(self, call: dict):
        """A canned answer's data (``results``), or ``BY_PROFILE`` to let the profile answer.
        Subclasses (the playground) override it to answer some look-ups themselves."""
        return self.results.get(call.get("action"), BY_PROFILE)

    def time_out_next(self, count: int = 1, delivered: bool = True) -> None:
        """The account's next ``count`` sends time out (``delivered``: went out anyway)."""
        self.account.time_out_next(count, delivered)

    # -- posting events ---------------------------------------------------------------------

    async def post(self, event: dict) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(event, ensure_ascii=False))

    async def deliver_group_message(self, message: GroupMessage, role: str | None = None) -> int:
        """Post a group message of the world as this account sees it; its message id."""
        event = self.profile.group_event(self.world, self.account, message, role)
        message.seen_by.add(self.self_id)
        await self.post(event)
        return event["message_id"]

    async def group_message(self, group_id: int, user_id: int, segments: Segments | str,
                            role: str = "member") -> int:
        """Post a group message through this account only (``QQWorld.group_message`` posts
        through every account in the group); ``segments`` as NapCat's array format, or one
        text string. Returns this account's message id."""
        segments = text_segments(segments)
        self.world.note_group_message(self.self_id, group_id, user_id, role)
        message = self.world.post_in_group(None, group_id, user_id, segments, event_time())
        message.seen_by = set()
        return await self.deliver_group_message(message, role)

    async def post_raw_string(self, group_id: int, user_id: int, typed: str) -> None:
        """Post a message in OneBot's string format, escaping what the user typed."""
        escaped = typed.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
        self.world.note_group_message(self.self_id, group_id, user_id, "member")
        message = self.world.post_in_group(None, group_id, user_id, text_segments(typed),
                                           event_time())
        message.seen_by = {self.self_id}
        await self.post({
            "time": message.time, "self_id": self.self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal",
            "message_id": self.profile.message_id(self.account, message),
            "group_id": group_id, "user_id": user_id, "message": escaped,
            "raw_message": escaped, "font": 14,
            "sender": {"user_id": user_id, "nickname": f"u{user_id}", "role": "member"},
        })

    async def private_message(self, user_id: int, typed: str | Segments,
                              group_id: int | None = None) -> int:
        """``user_id`` writes to this account privately: as a friend chat, or, with
        ``group_id``, as a temporary session from that group (shaped per profile). Returns
        the account's message id."""
        if group_id is not None:
            self.world.note_group_message(self.self_id, group_id, user_id, None)
            self.account.temp_chats[user_id] = group_id
        message = PrivateMessage(user_id, self.self_id, text_segments(typed), event_time(),
                                 temp=group_id is not None, via_group=group_id)
        event = self.profile.private_event(self.world, self.account, message)
        await self.post(event)
        return event["message_id"]

    async def friend_request(self, user_id: int, comment: str = "") -> str:
        """``user_id`` asks this account to be friends (until accepted they are not);
        returns the request's flag, shaped per profile."""
        if self.world.is_friend(self.self_id, user_id):
            self.world.unfriend(user_id, self.self_id)
        now = int(time.time())
        flag = self.profile.request_flag(self.world, user_id, now)
        request = self.account.requests[flag] = FriendRequest(user_id, comment, flag, now)
        for event in self.profile.friend_request_events(self.world, self.account, request):
            await self.post(event)
        return flag

    async def notice(self, kind: str, group_id: int, **fields) -> None:
        """Post a notice as this profile shapes it (``QQWorld`` calls this)."""
        for event in self.profile.notice(self.world, self.account, kind, group_id, **fields):
            await self.post(event)

    # -- reading the bot's calls ------------------------------------------------------------

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
