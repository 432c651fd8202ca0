"""Try 支部助手 without QQ: the real bot, a seeded branch, and you typing as its people.

    python -m tools.playground            # interactive; the database is thrown away at exit
    python -m tools.playground --db x.db  # keep the database (seeded the first time)
    python -m tools.playground --demo     # play the seed's story as a transcript and exit

It starts the real ``bot.py`` (same plugins, same database code) on a free local port with
``playground_mode`` on, and connects a built-in OneBot v11 client over the real WebSocket, so
what is shown is what a QQ group would get. Before the bot starts, a branch with two groups
(1楼群, 2楼群) and a cast (a 书记, two 支委, eight members on two floors, and the bot's
operator, a superuser) is seeded through the same roster import as ``tools.roster``.

Type a message as the current person; lines starting with ``:`` drive the playground (``:help``).
``:skip 1d`` moves the bot's clock forward: every scheduled job due in between runs at its own
time (see ``runtime/playground.py``), so reminders, the session window, rating time-outs, the
digest, the weekly commendation and the nightly backup can be seen without waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import secrets
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from config import BranchConfig
from domain.branches import Actor
from domain.models import Member
from domain.roster import HEADER, RosterService, parse_roster
from domain.services import open_services
from storage.playground import profiles_of_group
from tools.onebot import BotProcess, OneBotClient, event_time

BRANCH_NAME = "社区第一党支部"
OPERATOR = 10000  # the bot's SUPERUSERS in the playground
REPLY_WAIT_SECONDS = 8.0  # longest wait for the first reply to a command
QUIET_SECONDS = 0.3  # replies are taken as complete after this long without another
PLAYGROUND_ENV = {
    "PLAYGROUND_MODE": "true",
    "SEND_INTERVAL_SECONDS": "0",  # no need to pace a terminal
    "SEND_RATE_PER_MINUTE": "600",
    "LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class Group:
    number: int  # what `:group N` takes
    group_id: int
    label: str


GROUPS = (Group(1, 900001, "1楼群"), Group(2, 900002, "2楼群"))


@dataclass(frozen=True)
class Person:
    name: str
    qq: int
    identity: str | None  # None: not in the branch roster (the operator)
    floor: str = ""
    dorm: str = ""
    post: str = ""
    groups: tuple[int, ...] = (1, 2)
    roles: tuple[tuple[int, str], ...] = ()  # QQ group role by group number (default member)

    def role_in(self, group: int) -> str:
        return dict(self.roles).get(group, "member")

    @property
    def titles(self) -> str:
        if self.identity is None:
            return "超级管理员（SUPERUSERS，机器人运维）"
        return "·".join(x for x in (self.identity, self.post) if x)


CAST = (
    Person("陈书记", 20001, "正式党员", "1楼", "101", "书记", (1, 2), ((1, "owner"), (2, "owner"))),
    Person("刘委员", 20002, "正式党员", "1楼", "102", "支委", (1, 2), ((1, "admin"),)),
    Person("赵委员", 20003, "正式党员", "2楼", "201", "支委", (1, 2), ((2, "admin"),)),
    Person("张三", 20011, "正式党员", "1楼", "103", groups=(1,)),
    Person("李四", 20012, "预备党员", "1楼", "103", groups=(1,)),
    Person("王五", 20013, "入党积极分子", "1楼", "104", groups=(1,)),
    Person("钱六", 20014, "群众", "1楼", "104", groups=(1,)),
    Person("孙七", 20021, "发展对象", "2楼", "202", groups=(2,)),
    Person("周八", 20022, "正式党员", "2楼", "202", groups=(2,)),
    Person("吴九", 20023, "入党积极分子", "2楼", "203", groups=(2,)),
    Person("郑十", 20024, "群众", "2楼", "203", groups=(2,)),
    Person("运维", OPERATOR, None),
)
ROLE_WORDS = {"owner": "群主", "admin": "群管理员", "member": "群成员"}

HELP = """\
你在用真实的机器人（同样的插件、同样的数据库代码），只是 QQ 换成了这个终端。
直接输入消息就是以当前身份在当前群里发言，如 /帮助、/许愿 帮我取个快递、/心愿 认领 1。
@某人：写 @张三 或 @20011。
  :as <姓名|QQ号>      换人（如 :as 张三；:as 运维 是超级管理员）
  :group <1|2>         换群（1楼群、2楼群）；:private 改为私聊机器人
  :role <owner|admin|member>  当前这个人在当前群里的 QQ 身份（群主/群管理员/群成员）
  :who                 列出所有人：QQ号、身份、楼层宿舍、所在群
  :skip <时长|时刻>     机器人的时钟前进，如 :skip 30m、:skip 2h、:skip 1d、:skip 19:30；
                       期间到点的提醒、导学消息、评价超时、表彰、备份都会按时发生
  :time                机器人现在的时间
  :upload <文件>        以当前身份把文件传到当前群的群文件（试试 /成员 导入）
  :help                这段说明；:quit 退出（Ctrl-D 也可以）
消息的样子：群里的回复「1楼群 · 🤖」，机器人主动发到群里的「📢」，私聊「🔒 私聊 →」。"""

TRY_FIRST = ("两分钟试一试：:as 钱六 → /许愿 帮我看看入党申请书怎么写 → :as 张三 → /心愿 认领 1 → "
             "/心愿 完成 1 → :as 钱六 → /心愿 评价 1 5 → :as 陈书记 → /统计")


def person_named(word: str) -> Person | None:
    word = word.strip().lstrip("@")
    for p in CAST:
        if word in (p.name, str(p.qq)):
            return p
    for p in CAST:  # 书记 / 运维 / a unique part of a name
        if word and (word == p.post or word in p.name):
            return p
    return None


def group_numbered(word: str) -> Group | None:
    for g in GROUPS:
        if word.strip() in (str(g.number), g.label, str(g.group_id)):
            return g
    return None


def roster_table() -> list[tuple[int, list[str]]]:
    rows = [(1, list(HEADER))]
    for n, p in enumerate((p for p in CAST if p.identity is not None), start=2):
        rows.append((n, [p.name, str(p.qq), p.identity or "", p.floor, p.dorm, p.post]))
    return rows


async def seed(db_path: Path, settings: BranchConfig) -> bool:
    """Create the branch, bind the second group and import the cast; False if already there."""
    svc = await open_services(settings, db_path=str(db_path))
    try:
        return await seed_services(svc)
    finally:
        await svc.db.close()


async def seed_services(svc) -> bool:
    """The seed written through open services (the manuals' examples start from it too)."""
    if await svc.branches.find_branch_for_group(GROUPS[0].group_id) is not None:
        return False
    operator = Actor(OPERATOR, is_superuser=True)
    branch = await svc.branches.create_branch(GROUPS[0].group_id, operator, BRANCH_NAME)
    for group in GROUPS[1:]:
        await svc.branches.bind(group.group_id, branch.id, operator)
    roster = RosterService(svc.db, svc.settings, svc.clock)
    await roster.apply(branch.id, parse_roster(roster_table(), svc.settings))
    return True


# -- the bot's clock, seen from here -----------------------------------------------------------


class BotClock:
    """The bot's time as this side knows it: real time plus the offset the bot reported."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.offset = 0.0

    def timestamp(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), self.tz)

    def set(self, bot_now: float) -> None:
        self.offset = bot_now - time.time()

    def stamp(self) -> str:
        return self.now().strftime("%m-%d %H:%M")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(周|w|天|日|d|小时|时|h|分钟|分|m|秒|s)", re.I)
_UNIT_SECONDS = {"周": 604800, "w": 604800, "天": 86400, "日": 86400, "d": 86400,
                 "小时": 3600, "时": 3600, "h": 3600, "分钟": 60, "分": 60, "m": 60,
                 "秒": 1, "s": 1}
_CLOCK_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")


def skip_seconds(text: str, now: datetime) -> float | None:
    """``30m``, ``2h``, ``1d``, ``1d2h``, ``1周``, or ``19:30`` (the next such time)."""
    text = text.strip()
    clock = _CLOCK_TIME.match(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            return None
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at <= now:
            at += timedelta(days=1)
        return (at - now).total_seconds()
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        return None
    return sum(float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in parts)


def describe_span(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    text = "".join(f"{v}{u}" for v, u in ((days, "天"), (hours, "小时"), (minutes, "分钟")) if v)
    return text or "不到 1 分钟"


# -- the OneBot side ---------------------------------------------------------------------------


@dataclass
class Upload:
    group_id: int
    path: Path
    uploader: int
    at: int
    file_id: str = field(default_factory=lambda: secrets.token_hex(8))


class PlaygroundClient(OneBotClient):
    """The QQ side: answers the bot's look-ups from the cast (roles, group sizes, files), and
    keeps the files the bot uploads (an export, a roster) in ``files_dir``."""

    def __init__(self, port: int, token: str, files_dir: Path | None = None) -> None:
        super().__init__(port, token=token)
        self.role_overrides: dict[tuple[int, int], str] = {}  # (qq, group number) -> role
        self.uploads: list[Upload] = []
        self.files_dir = files_dir

    def role_of(self, person: Person, group: Group) -> str:
        return self.role_overrides.get((person.qq, group.number), person.role_in(group.number))

    def respond(self, call: dict):
        action, params = call.get("action"), call.get("params") or {}
        group = next((g for g in GROUPS if g.group_id == int(params.get("group_id") or 0)), None)
        if action == "get_group_member_info":
            user_id = int(params.get("user_id") or 0)
            person = next((p for p in CAST if p.qq == user_id), None)
            role = "admin" if user_id == self.self_id else (
                self.role_of(person, group) if person and group else "member")
            name = person.name if person else str(user_id)
            return {"group_id": params.get("group_id"), "user_id": user_id, "nickname": name,
                    "card": name, "role": role}
        if action == "get_group_info" and group is not None:
            members = sum(1 for p in CAST if group.number in p.groups)
            return {"group_id": group.group_id, "group_name": group.label,
                    "member_count": members, "max_member_count": 500}
        if action == "get_group_member_list" and group is not None:
            return [{"group_id": group.group_id, "user_id": p.qq, "nickname": p.name,
                     "card": p.name, "role": self.role_of(p, group)}
                    for p in CAST if group.number in p.groups]
        if action == "get_login_info":
            return {"user_id": self.self_id, "nickname": "支部助手"}
        if action == "get_group_root_files" and group is not None:
            return {"files": [self._file_info(u) for u in self.uploads
                              if u.group_id == group.group_id], "folders": []}
        if action in ("upload_group_file", "upload_private_file"):
            saved = self._keep_upload(params)
            if saved is not None:
                call["saved_to"] = str(saved)  # shown with the call (``describe_call``)
            return super().respond(call)
        if action in ("get_group_file_url", "get_file"):
            found = next((u for u in self.uploads if u.file_id == params.get("file_id")), None)
            if found is None:
                return None
            return {"url": found.path.resolve().as_uri(), "file": str(found.path.resolve()),
                    "file_name": found.path.name, "file_size": found.path.stat().st_size}
        return super().respond(call)

    def _keep_upload(self, params: dict) -> Path | None:
        """Save a file the bot uploads (``base64://…`` or a local path) where a QQ group's
        files would be; None when there is no folder or the file cannot be read."""
        if self.files_dir is None:
            return None
        file = str(params.get("file") or "")
        try:
            if file.startswith("base64://"):
                data = base64.b64decode(file[len("base64://"):])
            elif file and Path(file).is_file():
                data = Path(file).read_bytes()
            else:
                return None
        except (OSError, ValueError):
            return None
        name = Path(str(params.get("name") or "file")).name or "file"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path, n = self.files_dir / name, 2
        while path.exists():
            path, n = self.files_dir / f"{Path(name).stem}-{n}{Path(name).suffix}", n + 1
        path.write_bytes(data)
        return path.resolve()

    @staticmethod
    def _file_info(u: Upload) -> dict:
        size = u.path.stat().st_size
        return {"group_id": u.group_id, "file_id": u.file_id, "file_name": u.path.name,
                "busid": 102, "size": size, "file_size": size, "upload_time": u.at,
                "dead_time": 0, "modify_time": u.at, "download_times": 0, "uploader": u.uploader,
                "uploader_name": next((p.name for p in CAST if p.qq == u.uploader), "")}

    async def say_in_group(self, group: Group, person: Person, segments: list[dict]) -> None:
        raw = "".join(s["data"].get("text", f"[CQ:at,qq={s['data'].get('qq')}]")
                      for s in segments)
        await self.post({
            "time": event_time(), "self_id": self.self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal",
            "message_id": secrets.randbelow(2**31), "group_id": group.group_id,
            "user_id": person.qq, "anonymous": None, "message": segments, "raw_message": raw,
            "font": 14, "sender": {"user_id": person.qq, "nickname": person.name,
                                   "card": person.name, "role": self.role_of(person, group)},
        })

    async def say_privately(self, person: Person, segments: list[dict]) -> None:
        raw = "".join(s["data"].get("text", "") for s in segments)
        await self.post({
            "time": event_time(), "self_id": self.self_id, "post_type": "message",
            "message_type": "private", "sub_type": "friend",
            "message_id": secrets.randbelow(2**31), "user_id": person.qq, "message": segments,
            "raw_message": raw, "font": 14,
            "sender": {"user_id": person.qq, "nickname": person.name},
        })


class ClockApi:
    """The bot's playground endpoints (``runtime/playground.py``)."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}/playground"
        self.token = token

    def _call(self, path: str, body: dict | None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="GET" if
                                         body is None else "POST")
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as response:  # loopback only
            return json.loads(response.read())

    async def now(self) -> float:
        return float((await asyncio.to_thread(self._call, "/clock", None))["now"])

    async def advance(self, until: float) -> dict:
        return await asyncio.to_thread(self._call, "/advance", {"until": until})


# -- what is shown -----------------------------------------------------------------------------


def name_of(qq) -> str:
    if str(qq) == "all":
        return "全体成员"
    return next((p.name for p in CAST if str(p.qq) == str(qq)), str(qq))


def group_label(group_id) -> str:
    return next((g.label for g in GROUPS if str(g.group_id) == str(group_id)), f"群{group_id}")


def render(message) -> str:
    """A message as a person would read it: text, @names, and placeholders for media."""
    if isinstance(message, str):
        return message
    parts = []
    for seg in message or []:
        kind, data = seg.get("type"), seg.get("data") or {}
        if kind == "text":
            parts.append(data.get("text", ""))
        elif kind == "at":
            parts.append(f"@{name_of(data.get('qq'))} ")
        elif kind == "image":
            parts.append("[图片]")
        elif kind != "reply":
            parts.append(f"[{kind}]")
    return "".join(parts)


def describe_call(call: dict, stamp: str) -> str | None:
    """One shown block for a bot API call; None for look-ups nobody sees."""
    action, params = call.get("action"), call.get("params") or {}
    body = render(params.get("message"))
    if action == "send_msg":
        if params.get("message_type") == "private" or not params.get("group_id"):
            head = f"[{stamp}] 🔒 私聊 → {name_of(params.get('user_id'))} · 🤖"
        else:
            head = f"[{stamp}] {group_label(params.get('group_id'))} · 🤖"
    elif action == "send_group_msg":
        head = f"[{stamp}] 📢 {group_label(params.get('group_id'))} · 🤖 主动发送"
    elif action == "send_private_msg":
        head = f"[{stamp}] 🔒 私聊 → {name_of(params.get('user_id'))} · 🤖"
    elif action in ("upload_group_file", "upload_private_file"):
        where = (group_label(params.get("group_id")) if action == "upload_group_file"
                 else f"私聊 → {name_of(params.get('user_id'))}")
        saved = f"\n      已保存到 {call['saved_to']}" if call.get("saved_to") else ""
        return f"[{stamp}] 📎 {where} · 🤖 上传了文件「{params.get('name', '')}」{saved}"
    elif action == "delete_msg":
        return f"[{stamp}] 🗑 机器人撤回了刚才那条消息"
    else:
        return None
    lines = body.split("\n")
    return "\n".join([f"{head}：{lines[0]}", *(f"      {line}" for line in lines[1:])])


_MENTION = re.compile(r"@(\S+)")


def to_segments(text: str) -> list[dict]:
    """Typed text with ``@张三`` / ``@20011`` as @-mentions of the cast."""
    segments: list[dict] = []
    pos = 0
    for match in _MENTION.finditer(text):
        person = next((p for p in CAST if match.group(1) in (p.name, str(p.qq))), None)
        if person is None:
            continue
        if match.start() > pos:
            segments.append({"type": "text", "data": {"text": text[pos:match.start()]}})
        segments.append({"type": "at", "data": {"qq": str(person.qq)}})
        pos = match.end()
    if pos < len(text):
        segments.append({"type": "text", "data": {"text": text[pos:]}})
    return segments or [{"type": "text", "data": {"text": text}}]


# -- the playground ----------------------------------------------------------------------------


class Playground:
    """The state of the terminal (who, where) and everything typed into it."""

    def __init__(self, client: PlaygroundClient, api: ClockApi, clock: BotClock,
                 out: Callable[[str], None] = print, *, echo: bool = False,
                 db_path: Path | None = None) -> None:
        self.client = client
        self.db_path = db_path  # read for :who and :as, so they show the profiles as they are
        self.api = api
        self.clock = clock
        self.out = out
        self.echo = echo  # repeat what is typed (the demo's transcript)
        self.me = CAST[0]
        self.group = GROUPS[0]
        self.private = False
        self.transcript: list[str] = []
        self.shown = 0
        self._holding = False
        self._held: list[dict] = []
        self._printer: asyncio.Task | None = None

    # output ----------------------------------------------------------------------------

    def show(self, text: str) -> None:
        self.transcript.append(text)
        self.shown += 1
        self.out(text)

    def start(self) -> None:
        self._printer = asyncio.create_task(self._print_calls())

    async def stop(self) -> None:
        if self._printer:
            self._printer.cancel()

    async def _print_calls(self) -> None:
        while True:
            call = await self.client.calls.get()
            if self._holding:
                self._held.append(call)
            else:
                self._show_call(call)

    def _show_call(self, call: dict) -> None:
        block = describe_call(call, self.clock.stamp())
        if block is not None:
            self.show(block)

    def _flush(self) -> None:
        held, self._held = self._held, []
        while not self.client.calls.empty():
            held.append(self.client.calls.get_nowait())
        for call in held:
            self._show_call(call)

    async def settle(self, first: float, quiet: float = QUIET_SECONDS) -> None:
        """Wait for the replies: up to ``first`` for one, then until ``quiet`` passes."""
        loop = asyncio.get_running_loop()
        seen, deadline = self.shown, loop.time() + first
        while self.shown == seen and loop.time() < deadline:
            await asyncio.sleep(0.02)
        last, until = self.shown, loop.time() + quiet
        while loop.time() < until:
            await asyncio.sleep(0.02)
            if self.shown != last:
                last, until = self.shown, loop.time() + quiet

    # the prompt ------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return "私聊" if self.private else self.group.label

    def prompt(self) -> str:
        return f"{self.me.name}@{self.where}> "

    # input -----------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """One typed line; False when the playground should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return await self.meta(line[1:])
        await self.say(line)
        return True

    async def say(self, text: str) -> list[str]:
        """Send ``text`` as the current person, here; return what was shown in reply."""
        before = len(self.transcript)
        if self.echo:
            self.show(f"[{self.clock.stamp()}] {self.where} · {self.me.name}：{text}")
        segments = to_segments(text)
        if self.private:
            await self.client.say_privately(self.me, segments)
        else:
            await self.client.say_in_group(self.group, self.me, segments)
        command = text[:1] in ("/", "／")
        await self.settle(REPLY_WAIT_SECONDS if command else 0.5)
        return self.transcript[before + (1 if self.echo else 0):]

    async def meta(self, text: str) -> bool:
        word, _, rest = text.strip().partition(" ")
        rest = rest.strip()
        word = word.lower()
        if word in ("quit", "exit", "q", "退出"):
            return False
        handlers = {"as": self.switch_person, "group": self.switch_group,
                    "private": self.go_private, "role": self.set_role, "who": self.list_cast,
                    "skip": self.skip_text, "time": self.show_time, "upload": self.upload,
                    "help": self.show_help}
        handler = handlers.get(word)
        if handler is None:
            self.show(f"不认识 :{word}。输入 :help 查看说明。")
        else:
            await handler(rest)
        return True

    async def show_help(self, _: str = "") -> None:
        self.show(HELP)

    async def switch_person(self, rest: str) -> None:
        person = person_named(rest) if rest else None
        if person is None:
            self.show("用法：:as <姓名|QQ号>，如 :as 张三。:who 列出所有人。")
            return
        self.me = person
        if not self.private and self.group.number not in person.groups:
            self.group = next(g for g in GROUPS if g.number == person.groups[0])
        titles, _ = self.profile_of(person, await self.profiles())
        self.show(f"现在你是 {person.name}（{person.qq}，{titles}），在{self.where}。")

    async def switch_group(self, rest: str) -> None:
        group = group_numbered(rest) if rest else None
        if group is None:
            self.show("用法：:group <1|2>（" + "、".join(f"{g.number}={g.label}" for g in GROUPS)
                      + "）")
            return
        self.group, self.private = group, False
        note = "" if group.number in self.me.groups else f"（{self.me.name} 本不在这个群）"
        self.show(f"现在在 {group.label}（群号 {group.group_id}）{note}。")

    async def go_private(self, _: str = "") -> None:
        self.private = True
        self.show(f"现在是 {self.me.name} 私聊机器人（:group 1 回到群里）。")

    async def set_role(self, rest: str) -> None:
        role = {"群主": "owner", "管理员": "admin", "群管理员": "admin",
                "成员": "member", "群成员": "member"}.get(rest, rest.lower())
        if role not in ROLE_WORDS or self.private:
            self.show("用法：:role <owner|admin|member>（在群里设置当前这个人的 QQ 群身份）")
            return
        self.client.role_overrides[(self.me.qq, self.group.number)] = role
        self.show(f"{self.me.name} 在 {self.group.label} 现在是{ROLE_WORDS[role]}。")

    async def profiles(self) -> dict[int, Member]:
        """The branch's profiles as the bot's database holds them now."""
        if self.db_path is None:
            return {}
        return await asyncio.to_thread(profiles_of_group, self.db_path, GROUPS[0].group_id)

    @staticmethod
    def profile_of(person: Person, profiles: dict[int, Member]) -> tuple[str, str]:
        """(titles, floor and dorm) of a cast member as recorded now (``/成员 设置``, ``/登记``,
        an import change them), else as seeded."""
        found = profiles.get(person.qq)
        if found is None:
            return person.titles, f"{person.floor} {person.dorm}".strip()
        titles = found.titles + ("（已移除）" if not found.active else "")
        return titles, " ".join(x for x in (found.floor, found.dorm) if x)

    async def list_cast(self, _: str = "") -> None:
        lines = ["演员表（姓名 QQ号 身份 楼层宿舍 所在群）："]
        profiles = await self.profiles()
        for p in CAST:
            groups = "、".join(
                f"{g.label}" + (f"({ROLE_WORDS[self.client.role_of(p, g)]})"
                                if self.client.role_of(p, g) != "member" else "")
                for g in GROUPS if g.number in p.groups)
            titles, where = self.profile_of(p, profiles)
            me = " ← 你" if p is self.me else ""
            lines.append(f"  {p.name} {p.qq} {titles} {where} 群：{groups}{me}")
        self.show("\n".join(lines))

    async def show_time(self, _: str = "") -> None:
        self.clock.set(await self.api.now())
        self.show(f"机器人的时间：{self.clock.now():%Y-%m-%d %H:%M}")

    async def skip_text(self, rest: str) -> None:
        seconds = skip_seconds(rest, self.clock.now()) if rest else None
        if seconds is None or seconds <= 0:
            self.show("用法：:skip <时长|时刻>，如 :skip 30m、:skip 2h、:skip 1d、:skip 19:30")
            return
        await self.skip(seconds)

    async def skip(self, seconds: float) -> None:
        """Move the bot's clock forward; what happens meanwhile is shown at its time."""
        self.clock.set(await self.api.now())
        until = self.clock.timestamp() + seconds
        self.show(f"⏩ 快进 {describe_span(seconds)}……")
        self._holding = True
        try:
            while True:
                result = await self.api.advance(until)
                await asyncio.sleep(0.05)  # the reader hands over what arrived
                self.clock.set(float(result["now"]))
                self._flush()
                if result.get("done"):
                    break
        finally:
            self._holding = False
            self._flush()
        now = self.clock.now()
        self.show(f"⏰ 现在是 {now:%m-%d %H:%M}（周{'一二三四五六日'[now.weekday()]}）")

    async def upload(self, rest: str) -> None:
        path = Path(rest).expanduser()
        if self.private or not rest or not path.is_file():
            self.show("用法：:upload <文件路径>（在群里，以当前身份上传到群文件）")
            return
        self.client.uploads.append(Upload(self.group.group_id, path, self.me.qq,
                                          int(self.clock.timestamp())))
        self.show(f"[{self.clock.stamp()}] {self.group.label} · {self.me.name} 上传了群文件"
                  f"「{path.name}」")

    # scripted use ----------------------------------------------------------------------

    async def as_(self, name: str, text: str, *, group: int | None = None,
                  private: bool = False) -> list[str]:
        """Say ``text`` as ``name`` (in group ``group``, or privately) — for the demo."""
        person = person_named(name)
        assert person is not None, name
        self.me = person
        self.private = private
        if not private:
            self.group = next(g for g in GROUPS if g.number == (group or person.groups[0]))
        return await self.say(text)


# -- the demo ----------------------------------------------------------------------------------

NOTE_TEXT = ("今天学习了党章第一章，理解了党员的八项义务，尤其是密切联系群众这一条。"
             "作为预备党员要在宿舍和楼层里多做实事，帮助身边同学解决困难。")


class Demo:
    """The seed's story, played through the real bot; each step names what must be seen."""

    def __init__(self, pg: Playground) -> None:
        self.pg = pg
        self.failures: list[str] = []

    def expect(self, shown: Iterable[str], *fragments: str) -> None:
        text = "\n".join(shown)
        for fragment in fragments:
            if fragment not in text:
                self.failures.append(f"没有看到「{fragment}」")
                self.pg.show(f"    ✗ 预期出现「{fragment}」")

    def part(self, title: str) -> None:
        self.pg.show(f"\n━━ {title} ━━")

    async def run(self) -> list[str]:
        pg, expect = self.pg, self.expect
        self.part("开场：支部、两个楼层群、11 人名册已导入（:who）")
        await pg.list_cast()
        await pg.skip(skip_seconds("09:00", pg.clock.now()) or 0)

        self.part("一、微心愿：许愿 → 认领 → 完成 → 评价")
        expect(await pg.as_("钱六", "/许愿 想请人帮我看看入党申请书怎么写"), "心愿 #1 已发布")
        expect(await pg.as_("张三", "/心愿 认领 1"), "认领成功")
        expect(await pg.as_("张三", "/心愿 完成 1 当面讲了申请书的结构和要点"),
               "@钱六", "已由 张三 完成服务")
        expect(await pg.as_("钱六", "/心愿 评价 1 5 讲得很清楚，谢谢！"), "感谢评价", "张三 获得")

        self.part("二、导学：发起（签到码私聊给导学人）→ 开始前提醒 → 签到 → 读书笔记")
        expect(await pg.as_("陈书记", "/导学 发起 学习党章第一章 今天 19:30 60 @李四"),
               "已发起导学 #1", "私聊")
        await pg.skip(skip_seconds("19:20", pg.clock.now()) or 0)
        expect(pg.transcript[-6:], "学习党章第一章")
        shown = await pg.as_("李四", "/导学 签到码 1", private=True)
        code = find_code(shown) or find_code(pg.transcript)
        if code is None:
            self.failures.append("没有拿到签到码")
            code = "0000"
        expect(await pg.as_("张三", f"/签到 {code}", private=True), "签到成功")
        expect(await pg.as_("王五", f"/签到 {code}", private=True), "签到成功")
        expect(await pg.as_("孙七", f"/签到 {code}", private=True), "签到成功")
        wrong = "1" * len(code) if code != "1" * len(code) else "2" * len(code)
        await pg.as_("周八", f"/签到 {wrong}", private=True)
        expect(await pg.as_("张三", f"/笔记 {NOTE_TEXT}", group=1), "读书笔记", "互动 +")
        await pg.skip(skip_seconds("21:30", pg.clock.now()) or 0)
        expect(pg.transcript, "签到结束")

        self.part("三、积分与报告")
        expect(await pg.as_("张三", "/积分"), "积分")
        expect(await pg.as_("钱六", "/积分榜"), "张三")
        expect(await pg.as_("陈书记", "/统计"), "心愿收集", "满意度", "导学举办", "读书笔记")
        expect(await pg.as_("钱六", "/我的"), "钱六")
        self.part("演示结束" + ("" if not self.failures else f"：{len(self.failures)} 处不符"))
        return self.failures


_CODE = re.compile(r"签到码[：:]\s*(\d{4,8})")


def find_code(lines: Iterable[str]) -> str | None:
    found = None
    for line in lines:
        for match in _CODE.finditer(line):
            found = match.group(1)
    return found


# -- running it --------------------------------------------------------------------------------


async def interactive(pg: Playground, *, input=None, output=None) -> None:
    """The prompt loop (prompt_toolkit); ``input``/``output`` let a test script it."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.patch_stdout import patch_stdout

    words = [":as", ":group", ":private", ":role", ":who", ":skip", ":time", ":upload", ":help",
             ":quit", *(p.name for p in CAST), "/帮助", "/许愿", "/心愿", "/导学", "/签到",
             "/笔记", "/积分", "/积分榜", "/统计", "/我的", "/登记", "/成员", "/支部", "/公告",
             "/提醒", "/反映", "/民情"]
    session: PromptSession = PromptSession(
        input=input, output=output, completer=WordCompleter(words, sentence=True))
    pg.show(f"支部助手 playground · {BRANCH_NAME}（{'、'.join(g.label for g in GROUPS)}）"
            f" · 机器人时间 {pg.clock.now():%Y-%m-%d %H:%M}")
    pg.show(TRY_FIRST + "\n输入 :help 查看全部用法。")
    with patch_stdout(raw=True):
        while True:
            try:
                line = await session.prompt_async(pg.prompt)
            except (EOFError, KeyboardInterrupt):
                break
            if not await pg.handle(line):
                break


@dataclass
class Running:
    bot: BotProcess
    client: PlaygroundClient
    pg: Playground
    folder: Path | None  # the throw-away folder, removed at the end


async def start(db: Path | None, out: Callable[[str], None] = print, *, echo: bool = False,
                log: Path | None = None) -> Running:
    """Seed the database, start the bot, connect; the caller must ``finish`` it."""
    db = db.resolve() if db is not None else None  # the bot runs in the repository folder
    folder = None if db is not None else Path(tempfile.mkdtemp(prefix="zhibu-playground-"))
    base = folder if folder is not None else db.parent  # type: ignore[union-attr]
    db_path = db if db is not None else base / "playground.db"
    settings = BranchConfig()
    await seed(db_path, settings)
    token = secrets.token_hex(16)
    bot = BotProcess(db_path, log or base / "playground-bot.log", ONEBOT_ACCESS_TOKEN=token,
                     SUPERUSERS=json.dumps([str(OPERATOR)]),
                     BACKUP_DIR=str(base / "playground-backups"), **PLAYGROUND_ENV)
    await asyncio.to_thread(bot.start)
    client = PlaygroundClient(bot.port, token, files_dir=base / "playground-files")
    try:
        await client.__aenter__()
        api = ClockApi(bot.port, token)
        clock = BotClock(ZoneInfo(settings.branch_timezone))
        clock.set(await api.now())
    except BaseException:
        await client.__aexit__()
        bot.stop()
        raise
    pg = Playground(client, api, clock, out, echo=echo, db_path=db_path)
    pg.start()
    return Running(bot, client, pg, folder)


async def finish(running: Running) -> None:
    await running.pg.stop()
    await running.client.__aexit__()
    await asyncio.to_thread(running.bot.stop)
    if running.folder is not None:
        shutil.rmtree(running.folder, ignore_errors=True)


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.playground",
        description="不用 QQ 试用支部助手：真实的机器人 + 终端里的模拟群聊。")
    parser.add_argument("--db", type=Path, default=None,
                        help="保留数据库到这个文件（默认用临时数据库，退出即删除）")
    parser.add_argument("--demo", action="store_true",
                        help="演示一遍：心愿、导学签到、笔记、积分和报告，然后退出")
    parser.add_argument("--log", type=Path, default=None, help="机器人日志文件")
    return parser.parse_args(None if argv is None else list(argv))


async def run(args: argparse.Namespace) -> int:
    if args.demo and args.db is not None and args.db.exists():
        print("--demo 需要一个新的数据库：去掉 --db，或换一个不存在的文件。", file=sys.stderr)
        return 2
    running = await start(args.db, echo=args.demo, log=args.log)
    try:
        if args.demo:
            failures = await Demo(running.pg).run()
            return 1 if failures else 0
        where = (f"数据库 {args.db}（保留）" if args.db
                 else "临时数据库（退出后删除，--db 可保留）")
        running.pg.show(f"机器人已启动：ws://127.0.0.1:{running.bot.port}/onebot/v11/ws，{where}，"
                        f"日志 {running.bot.log_path}")
        await interactive(running.pg)
        return 0
    finally:
        await finish(running)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # the bot did not start
        print(f"启动失败：{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
