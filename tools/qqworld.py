"""A simulated QQ, shared by the test OneBot clients (``tools/onebot.py``): groups and their
members, which bot accounts are in which group, what each group shows, friends, what reached
each person privately, mutes, removals and groups that are gone.

Each ``OneBotClient`` is one bot account (its own WebSocket connection and ``self_id``); several
can share one ``QQWorld``. The world holds the facts; how an account answers an API call about
them is its implementation profile's business (``tools/qqprofiles.py``).

Defaults are those of a realistic branch: every person is a friend of every account (members
added the bot), and a group the tests or the bot name for the first time exists with the
account that named it in it (``auto_groups``). Tests change the facts with the methods below.
"""

from __future__ import annotations

import hashlib
import http.server
import random
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.onebot import OneBotClient

Segments = list[dict]
_last_time = [0]


def event_time() -> int:
    """Now, but strictly after the previous event: a person cannot type twice in one second,
    and the bot takes the same text from the same person at the same event time as a
    re-delivery (tests of re-delivery post the same event twice on purpose)."""
    _last_time[0] = max(int(time.time()), _last_time[0] + 1)
    return _last_time[0]


def text_segments(message: str | Segments) -> Segments:
    """One text string as a segment list; a segment list as it is."""
    if isinstance(message, str):
        return [{"type": "text", "data": {"text": message}}]
    return message


_CQ = re.compile(r"\[CQ:([a-zA-Z_.-]+)((?:,[^\]]*)?)\]")


def _cq_unescape(text: str, in_param: bool = False) -> str:
    text = text.replace("&#91;", "[").replace("&#93;", "]")
    if in_param:
        text = text.replace("&#44;", ",")
    return text.replace("&amp;", "&")


def parse_cq(message: str) -> Segments:
    """A string message as every implementation reads one: CQ codes become segments (this is
    why the bot must never send user text as a string)."""
    segments: Segments = []
    at = 0
    for match in _CQ.finditer(message):
        if match.start() > at:
            segments.append({"type": "text",
                             "data": {"text": _cq_unescape(message[at:match.start()])}})
        data = {}
        for pair in filter(None, match.group(2).split(",")):
            key, _, value = pair.partition("=")
            data[key] = _cq_unescape(value, in_param=True)
        segments.append({"type": match.group(1), "data": data})
        at = match.end()
    if at < len(message):
        segments.append({"type": "text", "data": {"text": _cq_unescape(message[at:])}})
    return segments


def to_cq(segments: Segments) -> str:
    """``raw_message``: the segments in CQ-code string form."""
    out = []
    for seg in segments:
        data = seg.get("data") or {}
        if seg.get("type") == "text":
            out.append(str(data.get("text", "")).replace("&", "&amp;").replace("[", "&#91;")
                       .replace("]", "&#93;"))
        else:
            params = "".join(f",{k}={v}" for k, v in data.items())
            out.append(f"[CQ:{seg.get('type')}{params}]")
    return "".join(out)


def render(segments: Segments) -> str:
    """What a person sees: text as typed, @-mentions as ``@<qq>`` (``@全体成员`` for all)."""
    out = []
    for seg in segments:
        kind, data = seg.get("type"), seg.get("data") or {}
        if kind == "text":
            out.append(str(data.get("text", "")))
        elif kind == "at":
            out.append("@全体成员" if str(data.get("qq")) == "all" else f"@{data.get('qq')}")
        elif kind == "file":
            out.append(f"[文件]{data.get('name', '')}")
        elif kind == "image":
            out.append("[图片]")
        elif kind != "reply":
            out.append(f"[{kind}]")
    return "".join(out)


@dataclass
class Member:
    user_id: int
    role: str = "member"
    nickname: str = ""
    card: str = ""
    join_time: int = 0


@dataclass
class GroupFile:
    """A file in a group's file area, with QQ's own id (a path-like ``/<uuid>``)."""

    file_id: str
    name: str
    data: bytes
    uploader: int
    upload_time: int
    busid: int = 102
    folder: str = "/"


@dataclass(eq=False)
class GroupMessage:
    """One message as the group shows it. ``ids`` holds each account's own message id for it
    (two accounts in a group see one message under two ids)."""

    seq: int
    group_id: int
    sender: int
    segments: Segments
    time: int
    by_account: bool = False
    ids: dict[int, int] = field(default_factory=dict)
    seen_by: set[int] = field(default_factory=set)
    from_private_send: bool = False  # a private send NapCat posted to the group
    recalled: bool = False

    @property
    def text(self) -> str:
        return render(self.segments)


@dataclass(eq=False)
class PrivateMessage:
    """A private message that reached a person, from which account, and how."""

    user_id: int
    self_id: int
    segments: Segments
    time: int
    temp: bool = False  # a temporary session (through a group), not a friend chat
    via_group: int | None = None
    message_id: int = 0

    @property
    def text(self) -> str:
        return render(self.segments)


@dataclass
class Group:
    group_id: int
    name: str = ""
    members: dict[int, Member] = field(default_factory=dict)  # people
    accounts: dict[int, str] = field(default_factory=dict)  # bot self_id -> its role here
    removed: set[int] = field(default_factory=set)  # accounts removed from the group
    muted_until: dict[int, float] = field(default_factory=dict)  # self_id -> wall clock
    whole_mute: bool = False
    exists: bool = True
    temp_chat: bool = True  # members may be reached by temp session (QQ result 103 if not)
    history: list[GroupMessage] = field(default_factory=list)
    files: list[GroupFile] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    max_member_count: int = 500


@dataclass
class FriendRequest:
    user_id: int
    comment: str
    flag: str
    time: int


@dataclass
class Account:
    """One bot account: its implementation profile, its switches, its own view of QQ."""

    self_id: int
    profile: str = "plain"
    nickname: str = "支部助手"
    report_self: bool = False  # NapCat/LLOneBot reportSelfMessage (off by default)
    report_self_delay: float = 0.2  # seconds before the message_sent event
    packet_backend: bool = False  # NapCat: get_group_file_url needs its packet backend
    local_file2url: bool = False  # NapCat/LLOneBot enableLocalFile2Url (base64 in get_file)
    answer_delay: float = 0.0  # seconds before every answer
    timeout_delay: float = 0.0  # seconds before a timeout is answered (real: 10 s)
    risk_control: bool = False  # every send times out and nothing is delivered (风控)
    upload_fails: bool = False  # the QQ side's file upload itself fails
    timeouts: deque[bool] = field(default_factory=deque)  # next sends: True = delivered anyway
    friends: set[int] = field(default_factory=set)
    unfriended: set[int] = field(default_factory=set)
    temp_chats: dict[int, int] = field(default_factory=dict)  # user -> group of a temp chat
    requests: dict[str, FriendRequest] = field(default_factory=dict)  # flag -> request
    messages: dict[int, GroupMessage | PrivateMessage] = field(default_factory=dict)
    file_keys: dict[str, tuple[int, str]] = field(default_factory=dict)  # NapCat key -> file
    client: OneBotClient | None = None
    sends: int = 0  # how many send calls it has answered (any outcome)
    _private_seq: int = 0

    def time_out_next(self, count: int = 1, delivered: bool = True) -> None:
        """The next ``count`` sends time out; ``delivered``: the message went out anyway."""
        self.timeouts.extend([delivered] * count)

    def next_send_fate(self) -> str | None:
        """None (normal), "delivered" (timed out, but sent) or "lost" (timed out, not sent)."""
        if self.risk_control:
            return "lost"
        if self.timeouts:
            return "delivered" if self.timeouts.popleft() else "lost"
        return None


class Refused(Exception):
    """QQ refused a send: ``kind`` is one of "gone", "removed", "muted", "muted_all",
    "no_temp_chat", "not_in_group"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class QQWorld:
    """Groups, people, accounts and messages; see the module docstring."""

    def __init__(self, *, friends_by_default: bool = True, auto_groups: bool = True,
                 shares_filesystem: bool = True, accounts_see_each_other: bool = True,
                 seed: int = 19) -> None:
        self.friends_by_default = friends_by_default
        self.auto_groups = auto_groups
        # the QQ side runs on the bot's machine (or shares its volume): paths mean the same
        self.shares_filesystem = shares_filesystem
        # a message one account sends reaches the other accounts in the group as a message
        self.accounts_see_each_other = accounts_see_each_other
        self.groups: dict[int, Group] = {}
        self.accounts: dict[int, Account] = {}
        self.strangers: set[int] = set()  # friends of no account (unless befriended by one)
        self.nicknames: dict[int, str] = {}
        self.inbox: dict[int, list[PrivateMessage]] = {}
        self.random = random.Random(seed)
        self._disk: tempfile.TemporaryDirectory | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._served: dict[str, GroupFile] = {}

    # -- accounts -----------------------------------------------------------------------------

    def account(self, self_id: int, profile: str | None = None, **options: Any) -> Account:
        """The account ``self_id`` (created on first use) with ``options`` applied."""
        acct = self.accounts.get(self_id)
        if acct is None:
            acct = self.accounts[self_id] = Account(self_id, profile or "plain")
        elif profile is not None:
            acct.profile = profile
        for key, value in options.items():
            if not hasattr(acct, key):
                raise TypeError(f"no account option {key!r}")
            setattr(acct, key, value)
        return acct

    def connected(self, group_id: int) -> list[Account]:
        """The connected accounts that are in the group."""
        group = self.groups.get(group_id)
        if group is None or not group.exists:
            return []
        return [self.accounts[a] for a in group.accounts
                if a in self.accounts and self.accounts[a].client is not None]

    # -- groups and people --------------------------------------------------------------------

    def group(self, group_id: int, name: str = "", accounts: Iterable[int] = (),
              members: Iterable[int] = ()) -> Group:
        """The group (created if new), with these accounts and members added."""
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id, name or f"群{group_id}")
        elif name:
            group.name = name
        for self_id in accounts:
            group.accounts.setdefault(self_id, "member")
            group.removed.discard(self_id)
        for user_id in members:
            self.add_member(group_id, user_id)
        return group

    def add_member(self, group_id: int, user_id: int, role: str | None = None,
                   nickname: str | None = None, card: str | None = None) -> Member:
        """A person in the group (their role, nickname and card updated when given)."""
        group = self.group(group_id)
        if user_id in self.accounts:  # a bot account: it is in the group, not a member
            group.accounts[user_id] = role or group.accounts.get(user_id, "member")
            group.removed.discard(user_id)
            return Member(user_id, group.accounts[user_id], self.accounts[user_id].nickname)
        member = group.members.get(user_id)
        if member is None:
            member = group.members[user_id] = Member(
                user_id, nickname=self.nickname(user_id), join_time=int(time.time()) - 86400)
        if role:
            member.role = role
        if nickname:
            member.nickname = self.nicknames[user_id] = nickname
        if card is not None:
            member.card = card
        return member

    def remove_member(self, group_id: int, user_id: int) -> None:
        self.group(group_id).members.pop(user_id, None)

    def set_role(self, group_id: int, user_id: int, role: str) -> None:
        """A person's or an account's role (owner/admin/member) in the group."""
        group = self.group(group_id)
        if user_id in group.accounts:
            group.accounts[user_id] = role
        else:
            self.add_member(group_id, user_id, role)

    def role_in(self, group_id: int, user_id: int) -> str | None:
        group = self.groups.get(group_id)
        if group is None:
            return None
        if user_id in group.accounts:
            return group.accounts[user_id]
        member = group.members.get(user_id)
        return member.role if member else None

    def nickname(self, user_id: int) -> str:
        return self.nicknames.get(user_id, f"u{user_id}")

    def token(self, bits: int) -> str:
        """A random hex string of ``bits`` bits (reproducible: the world's seeded random)."""
        return f"{self.random.getrandbits(bits):0{bits // 4}x}"

    def uid(self, user_id: int) -> str:
        """QQ's internal id for a person (``u_`` and 22 characters), stable per QQ number."""
        digest = hashlib.sha1(str(user_id).encode()).hexdigest()
        return "u_" + digest[:22]

    def note_group_message(self, self_id: int, group_id: int, user_id: int,
                           role: str | None) -> Group:
        """A message from ``user_id`` reached ``self_id`` in the group: both are in it."""
        group = self.group(group_id)
        if self_id not in group.removed:
            group.accounts.setdefault(self_id, "member")
        self.add_member(group_id, user_id, role if role in ("owner", "admin", "member")
                        else None)
        return group

    def users(self) -> set[int]:
        """Every person the world knows of."""
        known = set(self.nicknames) | set(self.inbox) | self.strangers
        for group in self.groups.values():
            known |= set(group.members)
        for acct in self.accounts.values():
            known |= acct.friends | set(acct.temp_chats)
        return known - set(self.accounts)

    # -- friends ------------------------------------------------------------------------------

    def is_friend(self, self_id: int, user_id: int) -> bool:
        acct = self.account(self_id)
        if user_id in acct.friends:
            return True
        if user_id in acct.unfriended or user_id in self.strangers:
            return False
        return self.friends_by_default

    def unfriend(self, user_id: int, self_id: int | None = None) -> None:
        """``user_id`` is no friend of ``self_id`` (of any account when None)."""
        if self_id is None:
            self.strangers.add(user_id)
            for acct in self.accounts.values():
                acct.friends.discard(user_id)
        else:
            acct = self.account(self_id)
            acct.friends.discard(user_id)
            acct.unfriended.add(user_id)

    def befriend(self, user_id: int, self_id: int | None = None) -> None:
        """``user_id`` is a friend of ``self_id`` (of every account when None)."""
        if self_id is None:
            self.strangers.discard(user_id)
            for acct in self.accounts.values():
                acct.unfriended.discard(user_id)
        else:
            acct = self.account(self_id)
            acct.unfriended.discard(user_id)
            acct.friends.add(user_id)

    def friends_of(self, self_id: int) -> list[int]:
        return sorted(u for u in self.users() if self.is_friend(self_id, u))

    def knows(self, self_id: int, user_id: int) -> bool:
        """Whether the account can resolve the person (QQ number -> uid): a friend, or a
        member of a group the account is in. NapCat posts a private send to the group when
        it cannot (``SendMsg.ts createContext``)."""
        if self.is_friend(self_id, user_id):
            return True
        return any(user_id in g.members and self_id in g.accounts and g.exists
                   for g in self.groups.values())

    def shares_group(self, self_id: int, user_id: int, group_id: int) -> bool:
        group = self.groups.get(group_id)
        return bool(group and group.exists and self_id in group.accounts
                    and user_id in group.members)

    # -- sending rules ------------------------------------------------------------------------

    def check_group_send(self, self_id: int, group_id: int) -> Group:
        """The group, if the account may post there now; else ``Refused``."""
        group = self.groups.get(group_id)
        if group is None:
            if not self.auto_groups:
                raise Refused("gone")
            group = self.group(group_id, accounts=[self_id])
        if not group.exists:
            raise Refused("gone")
        if self_id in group.removed:
            raise Refused("removed")
        if self_id not in group.accounts:
            if not self.auto_groups or group.history or group.members or group.accounts:
                raise Refused("not_in_group")
            group.accounts[self_id] = "member"
        if group.muted_until.get(self_id, 0) > time.time():
            raise Refused("muted")
        if group.whole_mute and group.accounts.get(self_id) not in ("owner", "admin"):
            raise Refused("muted_all")
        return group

    def mute_left(self, self_id: int, group_id: int) -> int:
        """Seconds of the account's own mute left in the group (0 when not muted)."""
        group = self.groups.get(group_id)
        until = group.muted_until.get(self_id, 0) if group else 0
        return max(0, int(until - time.time()))

    # -- deliveries ---------------------------------------------------------------------------

    def post_in_group(self, self_id: int | None, group_id: int, sender: int, segments: Segments,
                      when: int, *, from_private_send: bool = False) -> GroupMessage:
        """A message appears in the group (``self_id``: the account that sent it, if any)."""
        group = self.group(group_id)
        seq = (group.history[-1].seq + 1) if group.history else self.random.randint(1000, 9000)
        message = GroupMessage(seq, group_id, sender, segments, when,
                               by_account=self_id is not None,
                               from_private_send=from_private_send)
        message.seen_by = {a.self_id for a in self.connected(group_id)}
        group.history.append(message)
        return message

    def deliver_private(self, self_id: int, user_id: int, segments: Segments, when: int, *,
                        temp: bool = False, via_group: int | None = None) -> PrivateMessage:
        message = PrivateMessage(user_id, self_id, segments, when, temp, via_group)
        self.inbox.setdefault(user_id, []).append(message)
        if temp and via_group is not None:
            self.account(self_id).temp_chats[user_id] = via_group
        return message

    def store_file(self, group_id: int, name: str, data: bytes, uploader: int,
                   folder: str = "/") -> GroupFile:
        """A file lands in the group's file area."""
        file = GroupFile("/" + self.token(128), name, data, uploader, int(time.time()),
                         folder=folder)
        self.group(group_id).files.append(file)
        return file

    def upload_group_file(self, group_id: int, name: str, data: bytes, uploader: int) -> GroupFile:
        """A member uploads a file to the group (for roster-import tests)."""
        self.add_member(group_id, uploader)
        return self.store_file(group_id, name, data, uploader)

    def find_file(self, group_id: int, file_id: str) -> GroupFile | None:
        group = self.groups.get(group_id)
        return next((f for f in group.files if f.file_id == file_id), None) if group else None

    # -- the QQ side's disk and QQ's file servers ---------------------------------------------

    def disk(self) -> Path:
        """The folder standing for the QQ side's disk."""
        if self._disk is None:
            self._disk = tempfile.TemporaryDirectory(prefix="qqworld-")
        return Path(self._disk.name)

    def local_copy(self, file: GroupFile) -> str:
        """Where the QQ side keeps a downloaded copy. Without a shared filesystem the path is
        one inside the QQ side's container, which the bot cannot open."""
        if not self.shares_filesystem:
            return f"/app/.config/QQ/NapCat/temp/{file.name}"
        path = self.disk() / file.file_id.strip("/") / file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data)
        return str(path)

    def qq_path_exists(self, path: str) -> bool:
        """Whether a local path the bot names is a file on the QQ side's disk."""
        if not self.shares_filesystem or not path:
            return False
        try:
            return Path(path).is_file()
        except (OSError, ValueError):  # too long for a file name, or a NUL in it
            return False

    def file_url(self, file: GroupFile) -> str:
        """A download URL for the file, served by a small HTTP server (QQ's file servers)."""
        if self._server is None:
            world = self

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self) -> None:
                    key = urllib.parse.urlparse(self.path).path.split("/")[2:3]
                    found = world._served.get(key[0]) if key else None
                    if found is None:
                        self.send_error(404)
                        return
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(found.data)))
                    self.end_headers()
                    self.wfile.write(found.data)

                def log_message(self, *args) -> None:
                    pass

            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        key = self.token(96)
        self._served[key] = file
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/ftn_handler/{key}/?fname={urllib.parse.quote(file.name)}"

    def close(self) -> None:
        """Stop the file server and drop the QQ side's disk (the last client does this)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._disk is not None:
            shutil.rmtree(self._disk.name, ignore_errors=True)
            self._disk = None

    # -- what reached whom (for assertions) ---------------------------------------------------

    def group_messages(self, group_id: int) -> list[GroupMessage]:
        group = self.groups.get(group_id)
        return [m for m in group.history if not m.recalled] if group else []

    def group_texts(self, group_id: int, sender: int | None = None,
                    bots_only: bool = False) -> list[str]:
        """What the group shows, oldest first (only ``sender``'s, or only the accounts')."""
        return [m.text for m in self.group_messages(group_id)
                if (sender is None or m.sender == sender) and (not bots_only or m.by_account)]

    def private_messages(self, user_id: int, self_id: int | None = None) -> list[PrivateMessage]:
        return [m for m in self.inbox.get(user_id, [])
                if self_id is None or m.self_id == self_id]

    def private_texts(self, user_id: int, self_id: int | None = None) -> list[str]:
        """The private messages that reached ``user_id`` (from ``self_id`` only, if given)."""
        return [m.text for m in self.private_messages(user_id, self_id)]

    def where(self, text: str) -> list[tuple[str, int]]:
        """Everywhere a bot message containing ``text`` landed: ("group", group_id) and
        ("private", user_id) pairs, in order of delivery within each kind."""
        found = [("group", g.group_id) for g in self.groups.values()
                 for m in g.history if m.by_account and not m.recalled and text in m.text]
        found += [("private", uid) for uid, box in self.inbox.items()
                  for m in box if text in m.text]
        return found

    # -- events (post through the connected accounts) -----------------------------------------

    async def group_message(self, group_id: int, user_id: int, message: str | Segments,
                            role: str = "member", *, nickname: str | None = None,
                            card: str | None = None) -> dict[int, int]:
        """A person posts in the group: every connected account in it delivers its own copy
        with its own message id (returned, by ``self_id``)."""
        segments = text_segments(message)
        self.add_member(group_id, user_id, role if role in ("owner", "admin", "member")
                        else None, nickname, card)
        msg = self.post_in_group(None, group_id, user_id, segments, event_time())
        ids = {}
        for acct in self.connected(group_id):
            assert acct.client is not None
            ids[acct.self_id] = await acct.client.deliver_group_message(msg, role)
        return ids

    async def private_message(self, user_id: int, message: str | Segments, self_id: int,
                              group_id: int | None = None) -> int:
        """``user_id`` writes to account ``self_id``: a friend chat, or a temporary session
        through ``group_id``. Returns the account's message id."""
        acct = self.account(self_id)
        assert acct.client is not None, f"account {self_id} is not connected"
        return await acct.client.private_message(user_id, message, group_id=group_id)

    async def mute(self, group_id: int, self_id: int, seconds: int,
                   operator_id: int = 10000) -> None:
        """Mute the account in the group; the account is told (``group_ban``)."""
        group = self.group(group_id)
        group.muted_until[self_id] = time.time() + seconds
        await self._notice(self_id, "group_ban", group_id, user_id=self_id,
                           operator_id=operator_id, duration=seconds)

    async def unmute(self, group_id: int, self_id: int, operator_id: int = 10000) -> None:
        self.group(group_id).muted_until.pop(self_id, None)
        await self._notice(self_id, "group_ban", group_id, user_id=self_id,
                           operator_id=operator_id, duration=0)

    async def mute_all(self, group_id: int, on: bool = True, operator_id: int = 10000) -> None:
        """Whole-group mute (全员禁言) on or off; every account in the group is told."""
        group = self.group(group_id)
        group.whole_mute = on
        for acct in self.connected(group_id):
            await self._notice(acct.self_id, "group_ban", group_id, user_id=0,
                               operator_id=operator_id, duration=-1 if on else 0)

    async def remove_account(self, group_id: int, self_id: int,
                             operator_id: int = 10000) -> None:
        """An admin removes the account from the group; it is told (``kick_me``)."""
        group = self.group(group_id)
        group.accounts.pop(self_id, None)
        group.removed.add(self_id)
        await self._notice(self_id, "group_decrease", group_id, user_id=self_id,
                           operator_id=operator_id, sub_type="kick_me")

    async def add_account(self, group_id: int, self_id: int, operator_id: int = 0,
                          sub_type: str = "invite") -> None:
        """The account joins the group; it is told (``group_increase``)."""
        self.group(group_id, accounts=[self_id])
        await self._notice(self_id, "group_increase", group_id, user_id=self_id,
                           operator_id=operator_id, sub_type=sub_type)

    async def disband(self, group_id: int, operator_id: int = 0) -> None:
        """The group no longer exists; every account in it is told."""
        group = self.group(group_id)
        told = self.connected(group_id)
        group.exists = False
        for acct in told:
            await self._notice(acct.self_id, "group_disband", group_id, user_id=acct.self_id,
                               operator_id=operator_id or acct.self_id)

    async def friend_request(self, user_id: int, self_id: int, comment: str = "") -> str:
        """``user_id`` asks account ``self_id`` to be friends; returns the request's flag."""
        acct = self.account(self_id)
        assert acct.client is not None, f"account {self_id} is not connected"
        return await acct.client.friend_request(user_id, comment)

    async def friend_added(self, user_id: int, self_id: int) -> None:
        """The friendship exists now (accepted on the account's phone, say); it is told."""
        self.befriend(user_id, self_id)
        await self._notice(self_id, "friend_add", 0, user_id=user_id)

    async def _notice(self, self_id: int, kind: str, group_id: int, **fields: Any) -> None:
        acct = self.accounts.get(self_id)
        if acct is not None and acct.client is not None:
            await acct.client.notice(kind, group_id, **fields)
