"""How each OneBot v11 implementation answers the bot, as its source does (the specification
is ``/work/research/onebot_impls.md``; the source file of each behaviour is named beside it).

- ``plain``: the old always-yes test client (kept; it knows no QQ rules);
- ``napcat``: NapNeko/NapCatQQ ``packages/napcat-onebot`` (HEAD af07479351c5);
- ``llonebot``: LLOneBot/LLOneBot ``src/onebot11`` (7.0.1, c9bd964df7b9);
- ``lagrange``: LagrangeDev/Lagrange.Core branch ``v1`` ``Lagrange.OneBot`` (e17fe35641d3).

A profile turns one API call into one answer (``answer``), using and changing the shared
``QQWorld``; it also shapes the events an account posts (messages, notices, requests). Where
the sources leave a behaviour open the comment says "unconfirmed" and why this one was picked.
Only the forward WebSocket transport is modelled (retcodes 1200/1400, not HTTP's 200/400).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from tools.qqworld import (
    Account,
    FriendRequest,
    GroupFile,
    GroupMessage,
    PrivateMessage,
    QQWorld,
    Refused,
    Segments,
    parse_cq,
    to_cq,
)

_message_ids = itertools.count(1000)  # the plain client's ids, as before
MISSING = object()  # NapCat leaves the data key out of a void action's answer

SEND_ACTIONS = ("send_msg", "send_group_msg", "send_private_msg")
KNOWN_SEGMENTS = {"text", "face", "image", "record", "video", "at", "reply", "file", "json",
                  "xml", "music", "poke", "dice", "rps", "contact", "markdown", "mface",
                  "forward", "node", "share", "location"}
FILE_SEGMENTS = ("image", "record", "video", "file")
REMOVED_TEXT = "发送失败，你已被移出该群，请重新加群。"
NOT_FRIEND_TEXT = "发送失败，请先添加对方为好友"
# QQ's result code and errMsg for each refusal (research table at the top of onebot_impls.md)
KERNEL_RESULTS = {
    "removed": (110, REMOVED_TEXT),  # NapCat #600
    "not_in_group": (110, REMOVED_TEXT),  # unconfirmed: an account never in the group; as removed
    "muted": (120, ""),  # NapCat #860
    "muted_all": (120, ""),  # unconfirmed: whole-group mute; NapCat/LLOneBot pass QQ's 120 on
    "not_friend": (16, NOT_FRIEND_TEXT),  # LLOneBot #752 (same kernel as NapCat)
    "no_temp_chat": (103, ""),  # NapCat PR #1963 (group forbids temp chat); errMsg unconfirmed
    # unconfirmed: a group that is gone; Lagrange users see 16 for "group not found" (#493),
    # and the other two get the same server result through the kernel
    "gone": (16, ""),
}


@dataclass
class Ctx:
    """One API call being answered."""

    world: QQWorld
    account: Account
    call: dict
    delay: float = 0.0
    after: list = field(default_factory=list)  # (delay, coroutine factory) to run later

    @property
    def action(self) -> str:
        return str(self.call.get("action") or "")

    @property
    def params(self) -> dict:
        params = self.call.get("params")
        return params if isinstance(params, dict) else {}

    @property
    def echo(self) -> Any:
        return self.call.get("echo")

    @property
    def self_id(self) -> int:
        return self.account.self_id


@dataclass
class Target:
    """Where a send goes: a group, or a person (as a friend, or by temp session via a group).
    ``refused``: QQ's kernel will refuse it (see ``KERNEL_RESULTS``)."""

    kind: str  # "group" | "private"
    id: int
    via_group: int | None = None
    temp: bool = False
    refused: str | None = None
    from_private_send: bool = False


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _truthy(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "")
    return bool(value)


def _hash32(*parts: Any) -> int:
    return int.from_bytes(hashlib.md5(":".join(map(str, parts)).encode()).digest()[:4], "big")


def _up_to(history: list[GroupMessage], anchor: Any) -> list[GroupMessage]:
    """The messages up to and including ``anchor`` (none if it is not there)."""
    for at, message in enumerate(history):
        if message is anchor:
            return history[:at + 1]
    return []


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


class Plain:
    """Today's always-yes client: every send is delivered and answered with a message id,
    every other call with ``{"message_id": n}``. It honours only what a test injects
    (``failures``, timeouts, risk control); it knows no QQ rules (friends, mutes, removals)."""

    name = "plain"
    generic_retcode = 1200
    bad_params_retcode = 1400
    timeout_text = "e2e timeout"

    def __init__(self) -> None:
        self.handlers = {action: self.send for action in SEND_ACTIONS}

    # -- envelopes ----------------------------------------------------------------------------

    def ok(self, ctx: Ctx, data: Any = None) -> dict:
        return {"status": "ok", "retcode": 0, "data": None if data is MISSING else data,
                "echo": ctx.echo}

    def error(self, ctx: Ctx, retcode: int, message: str = "") -> dict:
        return {"status": "failed", "retcode": retcode, "data": None, "message": message,
                "echo": ctx.echo}

    def fail(self, ctx: Ctx, message: str) -> dict:
        """A thrown error inside an action."""
        return self.error(ctx, self.generic_retcode, message)

    def bad_params(self, ctx: Ctx, message: str) -> dict:
        return self.error(ctx, self.bad_params_retcode, message)

    def unknown_action(self, ctx: Ctx) -> dict:
        return self.ok(ctx, {"message_id": next(_message_ids)})

    # -- answering ----------------------------------------------------------------------------

    def answer(self, ctx: Ctx) -> dict:
        handler = self.handlers.get(ctx.action)
        if handler is None:
            return self.unknown_action(ctx)
        return handler(ctx)

    def message_id(self, acct: Account, message: GroupMessage | PrivateMessage) -> int:
        """The account's id for a message (made on first use)."""
        if isinstance(message, GroupMessage):
            if acct.self_id not in message.ids:
                message.ids[acct.self_id] = self.new_id(acct, message)
                acct.messages[message.ids[acct.self_id]] = message
            return message.ids[acct.self_id]
        if not message.message_id:
            message.message_id = self.new_id(acct, message)
            acct.messages[message.message_id] = message
        return message.message_id

    def new_id(self, acct: Account, message: GroupMessage | PrivateMessage) -> int:
        return next(_message_ids)

    # -- sending ------------------------------------------------------------------------------

    def route(self, ctx: Ctx) -> Target | dict:
        p = ctx.params
        group_id, user_id = _int(p.get("group_id")), _int(p.get("user_id"))
        kind = p.get("message_type")
        if ctx.action == "send_group_msg" or (ctx.action == "send_msg" and (
                kind == "group" or (kind is None and group_id is not None))):
            return Target("group", group_id or 0)
        friend = ctx.world.is_friend(ctx.self_id, user_id or 0)
        return Target("private", user_id or 0, via_group=None if friend else group_id,
                      temp=not friend and group_id is not None)

    def parse_message(self, ctx: Ctx) -> Segments | dict:
        message = ctx.params.get("message")
        if isinstance(message, str):
            if _truthy(ctx.params.get("auto_escape")):
                return [{"type": "text", "data": {"text": message}}]
            return parse_cq(message)
        if isinstance(message, dict):
            return [message]
        return list(message or [])

    def precheck(self, ctx: Ctx, target: Target) -> dict | None:
        """An implementation's own refusal before the message is built (LLOneBot's mute)."""
        return None

    def kernel_check(self, ctx: Ctx, target: Target) -> None:
        """QQ's own refusals (raises ``Refused``); the plain client has none."""

    def send(self, ctx: Ctx) -> dict:
        target = self.route(ctx)
        if isinstance(target, dict):
            return target
        refused = self.precheck(ctx, target)
        if refused is not None:
            return refused
        segments = self.parse_message(ctx)
        if isinstance(segments, dict):
            return segments
        try:
            self.kernel_check(ctx, target)
        except Refused as refusal:
            ctx.account.sends += 1
            return self.refusal(ctx, target, refusal.kind)
        ctx.account.sends += 1
        fate = ctx.account.next_send_fate()
        if fate == "lost":
            ctx.delay = max(ctx.delay, ctx.account.timeout_delay)
            return self.timeout(ctx, target, delivered=False)
        message_id = self.deliver(ctx, target, segments)
        if fate == "delivered":
            ctx.delay = max(ctx.delay, ctx.account.timeout_delay)
            return self.timeout(ctx, target, delivered=True)
        return self.ok(ctx, {"message_id": message_id})

    def refusal(self, ctx: Ctx, target: Target, kind: str) -> dict:
        result, text = KERNEL_RESULTS[kind]
        return self.fail(ctx, f"result {result} {text}".strip())

    def timeout(self, ctx: Ctx, target: Target, delivered: bool) -> dict:
        return self.fail(ctx, self.timeout_text)

    def deliver(self, ctx: Ctx, target: Target, segments: Segments) -> int:
        """The message reaches QQ: it lands in the group or with the person."""
        world, acct = ctx.world, ctx.account
        now = int(time.time())
        if target.kind == "group":
            message = world.post_in_group(acct.self_id, target.id, acct.self_id, segments, now,
                                          from_private_send=target.from_private_send)
            message_id = self.message_id(acct, message)
            if world.accounts_see_each_other:
                role = world.role_in(target.id, acct.self_id)
                for other in world.connected(target.id):
                    if other.self_id != acct.self_id and other.client is not None:
                        client = other.client
                        ctx.after.append((0.0, lambda c=client, m=message, r=role:
                                          c.deliver_group_message(m, r)))
        else:
            message = world.deliver_private(acct.self_id, target.id, segments, now,
                                            temp=target.temp, via_group=target.via_group)
            message_id = self.message_id(acct, message)
        self.report_self(ctx, message)
        return message_id

    def report_self(self, ctx: Ctx, message: GroupMessage | PrivateMessage) -> None:
        """The implementation's echo of the bot's own message, if it has one."""

    # -- events -------------------------------------------------------------------------------

    def sender(self, world: QQWorld, group_id: int, user_id: int,
               role: str | None = None) -> dict:
        group = world.groups.get(group_id)
        member = group.members.get(user_id) if group else None
        nickname = (world.accounts[user_id].nickname if user_id in world.accounts
                    else world.nickname(user_id))
        return {"user_id": user_id, "nickname": nickname,
                "card": member.card if member else "",
                "role": role or world.role_in(group_id, user_id) or "member"}

    def group_event(self, world: QQWorld, acct: Account, message: GroupMessage,
                    role: str | None = None) -> dict:
        """A group message as this account posts it (the old client's shape)."""
        text = "".join(s["data"].get("text", "") for s in message.segments)
        sender = self.sender(world, message.group_id, message.sender, role)
        return {
            "time": message.time, "self_id": acct.self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal",
            "message_id": self.message_id(acct, message), "group_id": message.group_id,
            "user_id": message.sender, "anonymous": None, "message": message.segments,
            "raw_message": text, "font": 14,
            "sender": {"user_id": message.sender, "nickname": sender["nickname"],
                       "card": sender["card"], "role": sender["role"]},
        }

    def private_event(self, world: QQWorld, acct: Account, message: PrivateMessage) -> dict:
        """A private message from a person to the account (friend, or temp via a group)."""
        text = "".join(s["data"].get("text", "") for s in message.segments)
        event = {
            "time": message.time, "self_id": acct.self_id, "post_type": "message",
            "message_type": "private", "sub_type": "group" if message.temp else "friend",
            "message_id": self.message_id(acct, message), "user_id": message.user_id,
            "message": message.segments, "raw_message": text, "font": 14,
            "sender": {"user_id": message.user_id, "nickname": world.nickname(message.user_id)},
        }
        if message.temp:
            event["group_id"] = message.via_group
        return event

    def notice(self, world: QQWorld, acct: Account, kind: str, group_id: int,
               **fields: Any) -> list[dict]:
        """The events an account posts for a notice (several for some implementations)."""
        event = {"time": int(time.time()), "self_id": acct.self_id, "post_type": "notice"}
        if kind == "friend_add":
            return [{**event, "notice_type": "friend_add", "user_id": fields["user_id"]}]
        if kind == "group_ban":
            duration = fields["duration"]
            return [{**event, "notice_type": "group_ban",
                     "sub_type": "lift_ban" if duration == 0 else "ban", "group_id": group_id,
                     "operator_id": fields["operator_id"], "user_id": fields["user_id"],
                     "duration": duration}]
        if kind == "group_disband":
            kind, fields = "group_decrease", {**fields, "sub_type": "disband"}
        return [{**event, "notice_type": kind, "sub_type": fields["sub_type"],
                 "group_id": group_id, "operator_id": fields["operator_id"],
                 "user_id": fields["user_id"]}]

    def friend_request_events(self, world: QQWorld, acct: Account,
                              request: FriendRequest) -> list[dict]:
        return [{"time": request.time, "self_id": acct.self_id, "post_type": "request",
                 "request_type": "friend", "user_id": request.user_id,
                 "comment": request.comment, "flag": request.flag}]

    def request_flag(self, world: QQWorld, user_id: int, when: int) -> str:
        return f"{user_id}:{when}"


class RealProfile(Plain):
    """What NapCat, LLOneBot and Lagrange share: QQ's rules and the go-cqhttp actions."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers.update({
            "upload_group_file": self.upload_group_file,
            "upload_private_file": self.upload_private_file,
            "get_group_root_files": self.get_group_root_files,
            "get_group_files_by_folder": self.get_group_files_by_folder,
            "get_group_file_url": self.get_group_file_url,
            "get_file": self.get_file,
            "get_group_msg_history": self.get_group_msg_history,
            "get_msg": self.get_msg,
            "get_friend_list": self.get_friend_list,
            "set_friend_add_request": self.set_friend_add_request,
            "get_version_info": self.get_version_info,
            "get_login_info": self.get_login_info,
            "get_status": lambda ctx: self.ok(ctx, {"online": True, "good": True}),
            "get_group_list": self.get_group_list,
            "get_group_info": self.get_group_info,
            "get_group_member_info": self.get_group_member_info,
            "get_group_member_list": self.get_group_member_list,
            "get_stranger_info": self.get_stranger_info,
            "delete_msg": self.delete_msg,
        })

    def unknown_action(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def qqnt_route(self, ctx: Ctx, keep_group_id: bool) -> Target | dict | None:
        """The chat mode NapCat's ``createContext`` and LLOneBot's ``createPeer`` share:
        send_private_msg is private, send_group_msg group, send_msg by message_type, else
        by the ids (group_id first). None when the ids do not fit the mode."""
        p = ctx.params
        group_id, user_id = _int(p.get("group_id")), _int(p.get("user_id"))
        mode = {"send_private_msg": "private", "send_group_msg": "group"}.get(
            ctx.action, p.get("message_type") or "normal")
        if mode in ("group", "normal") and group_id is not None:
            return Target("group", group_id)
        if mode in ("private", "normal") and user_id is not None:
            return self.private_target(ctx, user_id, group_id if keep_group_id else None)
        return None

    def kernel_check(self, ctx: Ctx, target: Target) -> None:
        """QQ's refusals, passed through by every implementation (none checks beforehand,
        except LLOneBot's mute, ``precheck``)."""
        world = ctx.world
        if target.refused:
            raise Refused(target.refused)
        if target.kind == "group":
            world.check_group_send(ctx.self_id, target.id)
        elif target.temp and target.via_group is not None:
            group = world.groups.get(target.via_group)
            if group is not None and not group.temp_chat:
                raise Refused("no_temp_chat")

    def check_segments(self, ctx: Ctx, segments: Segments) -> Segments | dict:
        """Unknown segment types are dropped (logged only, by all three); file-like segments
        need a file the implementation can read (``file_error``)."""
        kept = []
        for seg in segments:
            if not isinstance(seg, dict) or seg.get("type") not in KNOWN_SEGMENTS:
                continue
            if seg["type"] in FILE_SEGMENTS:
                data = seg.get("data") or {}
                source = str(data.get("url") or data.get("file") or data.get("path") or "")
                problem = self.file_error(ctx, source)
                if problem is not None:
                    if problem == "drop":
                        continue
                    return problem
            kept.append(seg)
        if not kept:
            return self.empty_message(ctx)
        return kept

    def parse_message(self, ctx: Ctx) -> Segments | dict:
        segments = super().parse_message(ctx)
        return segments if isinstance(segments, dict) else self.check_segments(ctx, segments)

    def empty_message(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "消息体无法解析, 请检查是否发送了不支持的消息类型")

    def file_error(self, ctx: Ctx, source: str) -> dict | str | None:
        """None when the implementation can read ``source``, "drop" to drop the segment,
        else the error answer."""
        if self.read_source(ctx, source) is None:
            return self.fail(ctx, f"文件处理失败: 识别URL失败, uri= {source}")
        return None

    def read_source(self, ctx: Ctx, source: str) -> bytes | None:
        """A file given as base64://, data:, http(s)://, file:// or a local path on the QQ
        side (``napcat-common/src/file.ts uriToLocalFile``; LLOneBot ``uri2local``)."""
        if source.startswith("base64://"):
            try:
                return base64.b64decode(source[9:], validate=True)
            except ValueError:
                return None
        if source.startswith("data:") and "," in source:
            try:
                return base64.b64decode(source.split(",", 1)[1])
            except ValueError:
                return None
        if source.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(source, timeout=5) as response:
                    return response.read()
            except OSError:
                return None
        path = source[7:] if source.startswith("file://") else source
        if ctx.world.qq_path_exists(path):
            with open(path, "rb") as handle:
                return handle.read()
        return None

    # -- ids and events shared by the QQNT-based two ------------------------------------------

    def report_self(self, ctx: Ctx, message: GroupMessage | PrivateMessage) -> None:
        """``message_sent``, only with reportSelfMessage (NapCat ``index.ts onAddSendMsg``,
        LLOneBot ``connect/ws.ts emitMessageLikeEvent``). NapCat keeps watching a timed-out
        send for 10 minutes, so a delivered one is reported even then."""
        acct, client = ctx.account, ctx.account.client
        if not acct.report_self or client is None:
            return
        ctx.after.append((acct.report_self_delay, lambda: client.post(
            self.sent_event(ctx.world, acct, message))))

    def sent_event(self, world: QQWorld, acct: Account,
                   message: GroupMessage | PrivateMessage) -> dict:
        raise NotImplementedError

    def history_post_type(self, acct: Account, message: GroupMessage) -> str:
        """The bot's own messages in history and echoes are ``message_sent`` (NapCat
        ``api/msg.ts initializeMessage``; LLOneBot ``GetGroupMsgHistory.ts``)."""
        return "message_sent" if message.sender == acct.self_id else "message"

    # -- files --------------------------------------------------------------------------------

    def upload_group_file(self, ctx: Ctx) -> dict:
        return self.upload(ctx, "group_id", self.file_to_group)

    def upload_private_file(self, ctx: Ctx) -> dict:
        return self.upload(ctx, "user_id", self.file_to_person)

    def upload(self, ctx: Ctx, key: str, land) -> dict:
        """Check the target id and the file as the implementation does, then ``land`` it."""
        p = ctx.params
        target_id = _int(p.get(key))
        if target_id is None or not p.get("file"):
            return self.bad_params(ctx, f"Key: {key}, Message: Required property")
        checked = self.upload_checks(ctx, p)
        if isinstance(checked, dict):
            return checked
        name, data = checked
        return land(ctx, target_id, name, data)

    def file_to_group(self, ctx: Ctx, group_id: int, name: str, data: bytes) -> dict:
        try:
            ctx.world.check_group_send(ctx.self_id, group_id)
        except Refused as refusal:
            return self.refusal(ctx, Target("group", group_id), refusal.kind)
        if ctx.account.upload_fails:
            return self.upload_failed(ctx)
        p = ctx.params
        folder = str(p.get("folder") or p.get("folder_id") or "/").strip("/") or "/"
        file = ctx.world.store_file(group_id, name, data, ctx.self_id, folder=folder)
        ctx.world.post_in_group(ctx.self_id, group_id, ctx.self_id,
                                [{"type": "file", "data": {"name": name}}], int(time.time()))
        return self.upload_ok(ctx, file)

    def file_to_person(self, ctx: Ctx, user_id: int, name: str, data: bytes) -> dict:
        target = self.private_upload_target(ctx, user_id)
        if isinstance(target, dict):
            return target
        if target.refused:
            return self.refusal(ctx, target, target.refused)
        if ctx.account.upload_fails:
            return self.upload_failed(ctx)
        now = int(time.time())
        ctx.world.deliver_private(ctx.self_id, user_id, [{"type": "file", "data": {"name": name}}],
                                  now, temp=target.temp, via_group=target.via_group)
        return self.upload_ok(ctx, GroupFile("/" + ctx.world.token(128), name, data,
                                             ctx.self_id, now))

    def upload_checks(self, ctx: Ctx, p: dict) -> tuple[str, bytes] | dict:
        raise NotImplementedError

    def private_upload_target(self, ctx: Ctx, user_id: int) -> Target | dict:
        return self.private_target(ctx, user_id, None)

    def private_target(self, ctx: Ctx, user_id: int, group_id: int | None) -> Target | dict:
        raise NotImplementedError

    def upload_ok(self, ctx: Ctx, file: GroupFile) -> dict:
        return self.ok(ctx, {"file_id": file.file_id})

    def upload_failed(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def root_files(self, ctx: Ctx, group_id: int, folder: str) -> tuple[list, list] | dict:
        group = ctx.world.groups.get(group_id)
        if group is None or not group.exists or ctx.self_id not in group.accounts:
            # unconfirmed: the kernel's answer for a group the account cannot see
            return self.fail(ctx, f"群{group_id}不存在")
        files = [f for f in group.files if f.folder == folder]
        folders = [name for name in group.folders] if folder == "/" else []
        return files, folders

    def file_item(self, ctx: Ctx, group_id: int, file: GroupFile, file_id: str) -> dict:
        world = ctx.world
        return {"group_id": group_id, "file_id": file_id, "file_name": file.name,
                "busid": file.busid, "size": len(file.data), "file_size": len(file.data),
                "upload_time": file.upload_time, "dead_time": 0, "modify_time": file.upload_time,
                "download_times": 0, "uploader": file.uploader,
                "uploader_name": world.nickname(file.uploader)}

    def folder_item(self, ctx: Ctx, group_id: int, name: str) -> dict:
        group = ctx.world.group(group_id)
        return {"group_id": group_id, "folder_id": "/" + hashlib.md5(name.encode()).hexdigest(),
                "folder": "/" + name, "folder_name": name, "create_time": 0,
                "creator": 0, "creator_name": "",
                "total_file_count": sum(1 for f in group.files if f.folder == name)}

    def get_group_root_files(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def get_group_files_by_folder(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def get_group_file_url(self, ctx: Ctx) -> dict:
        p = ctx.params
        file = ctx.world.find_file(_int(p.get("group_id")) or 0, str(p.get("file_id") or ""))
        if file is None:
            return self.fail(ctx, "file not found")  # unconfirmed text
        return self.ok(ctx, {"url": ctx.world.file_url(file)})

    def get_file(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    # -- history ------------------------------------------------------------------------------

    def history_item(self, ctx: Ctx, message: GroupMessage) -> dict:
        event = self.group_event(ctx.world, ctx.account, message)
        if self.history_post_type(ctx.account, message) == "message_sent":
            event.update(self.sent_fields(message))
        return event

    def sent_fields(self, message: GroupMessage) -> dict:
        return {"post_type": "message_sent", "message_sent_type": "self",
                "target_id": message.group_id}

    def visible_history(self, ctx: Ctx, group_id: int) -> list[GroupMessage] | None:
        """What the account can read of the group (None: it cannot read the group)."""
        group = ctx.world.groups.get(group_id)
        if group is None or not group.exists or ctx.self_id not in group.accounts:
            return None
        return [m for m in group.history if not m.recalled]

    def get_group_msg_history(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def get_msg(self, ctx: Ctx) -> dict:
        message = ctx.account.messages.get(_int(ctx.params.get("message_id")) or 0)
        if message is None:
            return self.fail(ctx, "消息不存在")  # unconfirmed text
        if isinstance(message, GroupMessage):
            return self.ok(ctx, self.history_item(ctx, message))
        return self.ok(ctx, self.private_event(ctx.world, ctx.account, message))

    # -- friends ------------------------------------------------------------------------------

    def get_friend_list(self, ctx: Ctx) -> dict:
        world = ctx.world
        return self.ok(ctx, [self.friend_item(world, uid)
                             for uid in world.friends_of(ctx.self_id)])

    def friend_item(self, world: QQWorld, user_id: int) -> dict:
        raise NotImplementedError

    def set_friend_add_request(self, ctx: Ctx) -> dict:
        p = ctx.params
        request = ctx.account.requests.get(str(p.get("flag") or ""))
        if request is None:
            return self.no_such_request(ctx)
        del ctx.account.requests[request.flag]
        if _truthy(p.get("approve"), default=True):
            ctx.world.befriend(request.user_id, ctx.self_id)
            self.after_accept(ctx, request)
        return self.ok(ctx, MISSING)

    def no_such_request(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def after_accept(self, ctx: Ctx, request: FriendRequest) -> None:
        """The gray tip "你们已成为好友" after accepting: a ``friend_add`` notice (NapCat
        ``api/msg.ts parsePrivateMsgEvent`` busiId 19324; LLOneBot ``entities.ts`` L529)."""
        client = ctx.account.client
        if client is not None:
            ctx.after.append((0.05, lambda: client.notice("friend_add", 0,
                                                          user_id=request.user_id)))

    # -- groups and members -------------------------------------------------------------------

    def get_version_info(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def get_login_info(self, ctx: Ctx) -> dict:
        return self.ok(ctx, {"user_id": ctx.self_id, "nickname": ctx.account.nickname})

    def my_groups(self, ctx: Ctx) -> list:
        return [g for g in ctx.world.groups.values()
                if g.exists and ctx.self_id in g.accounts]

    def group_info(self, ctx: Ctx, group) -> dict:
        raise NotImplementedError

    def get_group_list(self, ctx: Ctx) -> dict:
        return self.ok(ctx, [self.group_info(ctx, g) for g in self.my_groups(ctx)])

    def get_group_info(self, ctx: Ctx) -> dict:
        group = ctx.world.groups.get(_int(ctx.params.get("group_id")) or 0)
        if group is None or not group.exists:
            return self.group_not_found(ctx)
        return self.ok(ctx, self.group_info(ctx, group))

    def group_not_found(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "获取群信息失败")  # unconfirmed text

    def member_count(self, group) -> int:
        return len(group.members) + len(group.accounts)

    def member_info(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        world = ctx.world
        group = world.group(group_id)
        member = group.members.get(user_id)
        is_account = user_id in group.accounts
        nickname = (world.accounts[user_id].nickname if is_account and user_id in world.accounts
                    else world.nickname(user_id))
        return {"group_id": group_id, "user_id": user_id, "nickname": nickname,
                "card": member.card if member else "", "sex": "unknown", "age": 0, "area": "",
                "level": "1", "qq_level": 0,
                "join_time": member.join_time if member else int(time.time()) - 86400,
                "last_sent_time": int(time.time()), "title_expire_time": 0, "unfriendly": False,
                "card_changeable": True, "is_robot": False,
                "shut_up_timestamp": int(group.muted_until.get(user_id, 0)),
                "role": world.role_in(group_id, user_id) or "member", "title": ""}

    def get_group_member_info(self, ctx: Ctx) -> dict:
        group_id = _int(ctx.params.get("group_id")) or 0
        user_id = _int(ctx.params.get("user_id")) or 0
        group = ctx.world.groups.get(group_id)
        if group is None or not group.exists or (user_id not in group.members
                                                 and user_id not in group.accounts):
            return self.member_not_found(ctx, group_id, user_id)
        return self.ok(ctx, self.member_info(ctx, group_id, user_id))

    def member_not_found(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        raise NotImplementedError

    def get_group_member_list(self, ctx: Ctx) -> dict:
        group_id = _int(ctx.params.get("group_id")) or 0
        group = ctx.world.groups.get(group_id)
        if group is None or not group.exists:
            return self.group_not_found(ctx)
        people = list(group.accounts) + list(group.members)
        return self.ok(ctx, [self.member_info(ctx, group_id, uid) for uid in people])

    def get_stranger_info(self, ctx: Ctx) -> dict:
        user_id = _int(ctx.params.get("user_id")) or 0
        return self.ok(ctx, {"user_id": user_id, "nickname": ctx.world.nickname(user_id),
                             "sex": "unknown", "age": 0})

    def delete_msg(self, ctx: Ctx) -> dict:
        """Recall: the account's own message, or anyone's where it is a group admin."""
        message = ctx.account.messages.get(_int(ctx.params.get("message_id")) or 0)
        if message is None:
            return self.recall_unknown(ctx)
        if isinstance(message, GroupMessage):
            own = message.sender == ctx.self_id
            role = ctx.world.role_in(message.group_id, ctx.self_id)
            if not own and role not in ("owner", "admin"):
                return self.fail(ctx, "撤回消息失败")  # unconfirmed text (QQ has no right)
            message.recalled = True
        return self.ok(ctx, MISSING)

    def recall_unknown(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "消息不存在")  # unconfirmed text


class NapCat(RealProfile):
    """NapCat (``packages/napcat-onebot``), over WebSocket."""

    name = "napcat"
    version = "4.9.80"  # the version in NapCat #1410

    # -- envelope: action/OneBotAction.ts ---------------------------------------------------

    def ok(self, ctx: Ctx, data: Any = None) -> dict:
        answer: dict[str, Any] = {"status": "ok", "retcode": 0}
        if data is not MISSING:  # void actions: data undefined, dropped by JSON.stringify
            answer["data"] = data
        answer.update(message="", wording="",
                      echo=ctx.echo if ctx.echo is not None else "", stream="normal-action")
        return answer

    def error(self, ctx: Ctx, retcode: int, message: str = "") -> dict:
        return {"status": "failed", "retcode": retcode, "data": None, "message": message,
                "wording": message, "echo": ctx.echo if ctx.echo is not None else "",
                "stream": "normal-action"}

    def unknown_action(self, ctx: Ctx) -> dict:
        # network/websocket-server.ts: raised before the action runs, so echo may be null
        answer = self.error(ctx, 1404, f"不支持的API {ctx.action}")
        answer["echo"] = ctx.echo
        return answer

    # -- sending: action/msg/SendMsg.ts createContext ---------------------------------------

    def route(self, ctx: Ctx) -> Target | dict:
        target = self.qqnt_route(ctx, keep_group_id=True)
        if target is not None:
            return target
        private = (ctx.action == "send_private_msg"
                   or ctx.params.get("message_type") == "private")
        if private and ctx.params.get("group_id") is not None:
            return self.fail(ctx, "当前私聊发送,请指定 user_id 而不是 group_id")
        return self.fail(ctx, "请指定正确的 group_id 或 user_id")

    def private_target(self, ctx: Ctx, user_id: int, group_id: int | None) -> Target | dict:
        world = ctx.world
        if not world.knows(ctx.self_id, user_id):
            if group_id is not None:
                # SendMsg.ts L75-80: no uid and a group_id -> the message goes to the GROUP
                return Target("group", group_id, from_private_send=True)
            return self.fail(ctx, "无法获取用户信息")  # NapCat #1794
        if world.is_friend(ctx.self_id, user_id):
            return Target("private", user_id)
        if group_id is not None:
            # temp session via the given group (PR #1963: an explicit group_id wins);
            # core/apis/msg.ts sendMsg prepares it (PrepareTempChat) when the user is in it
            if world.shares_group(ctx.self_id, user_id, group_id):
                return Target("private", user_id, via_group=group_id, temp=True)
            # unconfirmed: temp peer without PrepareTempChat; QQ refuses as for a non-friend
            return Target("private", user_id, via_group=group_id, temp=True,
                          refused="not_friend")
        cached = ctx.account.temp_chats.get(user_id)
        if cached is not None:  # getTempChatInfo() knows an earlier temp chat
            return Target("private", user_id, via_group=cached, temp=True)
        # plain C2C to a non-friend. Unconfirmed whether today's NapCat times out (#600, old)
        # or gets QQ's result 16 at once (#1480); the latter, like LLOneBot on the same kernel
        return Target("private", user_id, refused="not_friend")

    def private_upload_target(self, ctx: Ctx, user_id: int) -> Target | dict:
        # UploadPrivateFile.ts: isBuddy ? C2C : TEMPC2CFROMGROUP; a uin with no uid fails
        world = ctx.world
        if not world.knows(ctx.self_id, user_id):
            return self.fail(ctx, f"私聊{user_id}不存在")
        if world.is_friend(ctx.self_id, user_id):
            return Target("private", user_id)
        via = ctx.account.temp_chats.get(user_id) or next(
            (g.group_id for g in world.groups.values()
             if world.shares_group(ctx.self_id, user_id, g.group_id)), None)
        return Target("private", user_id, via_group=via, temp=True)

    @staticmethod
    def ntevent(kind: str, ret: dict | None) -> str:
        """napcat-core/helper/event.ts callNormalEventV2's error text."""
        body = json.dumps(ret, indent=4, ensure_ascii=False) if ret is not None else "{}"
        return (f"{kind}: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg "
                f"ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{body}\n")

    def refusal(self, ctx: Ctx, target: Target, kind: str) -> dict:
        # no pre-checks in napcat-onebot: QQ's result comes back through the EventChecker
        result, text = KERNEL_RESULTS[kind]
        return self.fail(ctx, self.ntevent("EventChecker Failed",
                                           {"result": result, "errMsg": text}))

    def timeout(self, ctx: Ctx, target: Target, delivered: bool) -> dict:
        # #932: delivered, yet "EventRet: {}"; #1410/#808 (risk control): result 0, not sent
        ret = None if delivered else {"result": 0, "errMsg": ""}
        return self.fail(ctx, self.ntevent("Timeout", ret))

    def sent_event(self, world: QQWorld, acct: Account,
                   message: GroupMessage | PrivateMessage) -> dict:
        if isinstance(message, GroupMessage):
            event = self.group_event(world, acct, message)
            event.update(self.sent_fields(message))
            return event
        message_id = self.message_id(acct, message)
        return {"self_id": acct.self_id, "user_id": acct.self_id, "time": message.time,
                "message_id": message_id, "message_seq": message_id, "real_id": message_id,
                "real_seq": str(message_id), "message_type": "private",
                "sender": {"user_id": acct.self_id, "nickname": acct.nickname, "card": ""},
                "raw_message": to_cq(message.segments), "font": 14,
                "sub_type": "group" if message.temp else "friend",
                "message": message.segments, "message_format": "array",
                "post_type": "message_sent", "message_sent_type": "self",
                "target_id": message.user_id}

    # -- ids and events -----------------------------------------------------------------------

    def new_id(self, acct: Account, message: GroupMessage | PrivateMessage) -> int:
        # napcat-common/src/message-unique.ts: an md5 hash masked to a positive int32
        for salt in itertools.count():
            candidate = _hash32(acct.self_id, len(acct.messages), message.time, salt) & 0x7FFFFFFF
            if candidate and candidate not in acct.messages:
                return candidate
        raise AssertionError

    def group_event(self, world: QQWorld, acct: Account, message: GroupMessage,
                    role: str | None = None) -> dict:
        # api/msg.ts: message_seq == message_id == real_id; real_seq is QQ's seq as a string
        message_id = self.message_id(acct, message)
        sender = self.sender(world, message.group_id, message.sender, role)
        return {"self_id": acct.self_id, "user_id": message.sender, "time": message.time,
                "message_id": message_id, "message_seq": message_id, "real_id": message_id,
                "real_seq": str(message.seq), "message_type": "group", "sender": sender,
                "raw_message": to_cq(message.segments), "font": 14, "sub_type": "normal",
                "message": message.segments, "message_format": "array",
                "post_type": "message", "group_id": message.group_id}

    def private_event(self, world: QQWorld, acct: Account, message: PrivateMessage) -> dict:
        message_id = self.message_id(acct, message)
        nickname = world.nickname(message.user_id)
        event = {"self_id": acct.self_id, "user_id": message.user_id, "time": message.time,
                 "message_id": message_id, "message_seq": message_id, "real_id": message_id,
                 "real_seq": str(message_id), "message_type": "private",
                 "sender": {"user_id": message.user_id, "nickname": nickname, "card": ""},
                 "raw_message": to_cq(message.segments), "font": 14, "sub_type": "friend",
                 "message": message.segments, "message_format": "array",
                 "post_type": "message"}
        if message.temp:
            # api/msg.ts handleTempGroupMessage L1153-1166: top-level group_id, temp_source 0;
            # 284840486 is its placeholder when getTempChatInfo fails
            event.update(sub_type="group", group_id=message.via_group or 284840486,
                         temp_source=0)
        return event

    def request_flag(self, world: QQWorld, user_id: int, when: int) -> str:
        return str(when)  # index.ts L447: flag = reqTime

    # -- files --------------------------------------------------------------------------------

    def upload_checks(self, ctx: Ctx, p: dict) -> tuple[str, bytes] | dict:
        # action/go-cqhttp/UploadGroupFile.ts: `name` is required by the schema (wording
        # of TypeBox's message unconfirmed)
        if not p.get("name"):
            return self.bad_params(ctx, "Key: name, Message: Required property")
        source = str(p.get("file"))
        data = self.read_source(ctx, source)
        if data is None:
            return self.fail(ctx, f"识别URL失败, uri= {source}")
        if not data:
            return self.fail(ctx, "文件异常，大小为0")
        return str(p["name"]), data

    def upload_failed(self, ctx: Ctx) -> dict:
        # ShowMeJM #17: rich media transfer failed, passed through the EventChecker
        return self.fail(ctx, self.ntevent("EventChecker Failed",
                                           {"result": -1, "errMsg": "rich media transfer failed"}))

    def file_key(self, ctx: Ctx, group_id: int, file: GroupFile) -> str:
        # napcat-common/src/file-uuid.ts: a random 32-hex key into an in-memory cache (24 h,
        # lost on restart); a fresh key per listing (unconfirmed whether keys are reused)
        key = ctx.world.token(128)
        ctx.account.file_keys[key] = (group_id, file.file_id)
        return key

    def get_group_root_files(self, ctx: Ctx) -> dict:
        # action/go-cqhttp/GetGroupRootFiles.ts: file_count defaults to 50; one page only
        group_id = _int(ctx.params.get("group_id")) or 0
        count = _int(ctx.params.get("file_count")) or 50
        found = self.root_files(ctx, group_id, "/")
        if isinstance(found, dict):
            return found
        files, folders = found
        # newest first (sortType 1, sortOrder 2; unconfirmed which end the page starts at)
        files = sorted(files, key=lambda f: f.upload_time, reverse=True)
        listing = [*(("folder", name) for name in folders), *(("file", f) for f in files)]
        listing = listing[:count]
        return self.ok(ctx, {
            "files": [self.file_item(ctx, group_id, f, self.file_key(ctx, group_id, f))
                      for kind, f in listing if kind == "file"],
            "folders": [self.folder_item(ctx, group_id, n) for kind, n in listing
                        if kind == "folder"]})

    def get_group_files_by_folder(self, ctx: Ctx) -> dict:
        # GetGroupFilesByFolder.ts: folder or folder_id; folders always []
        p = ctx.params
        group_id = _int(p.get("group_id")) or 0
        folder = str(p.get("folder") or p.get("folder_id") or "/").lstrip("/") or "/"
        found = self.root_files(ctx, group_id, folder)
        if isinstance(found, dict):
            return found
        files = found[0][:_int(p.get("file_count")) or 50]
        return self.ok(ctx, {"files": [self.file_item(ctx, group_id, f,
                                                      self.file_key(ctx, group_id, f))
                                       for f in files], "folders": []})

    def get_group_file_url(self, ctx: Ctx) -> dict:
        # action/file/GetGroupFileUrl.ts extends GetPacketStatusDepends: its check fails
        # without the packet backend, with retcode 1400 (NapCat #1852)
        if not ctx.account.packet_backend:
            return self.bad_params(
                ctx, "packetBackend不可用，请参照文档 https://napneko.github.io/config/advanced "
                "和启动日志检查packetBackend状态或进行配置！错误堆栈信息："
                "Error: packetBackend不可用\n    at GetGroupFileUrl.check (napcat.mjs)")
        found = ctx.account.file_keys.get(str(ctx.params.get("file_id") or ""))
        file = ctx.world.find_file(*found) if found else None
        if file is None:
            return self.fail(ctx, "real fileUUID not found!")  # NapCat #1267
        return self.ok(ctx, {"url": ctx.world.file_url(file)})

    def get_file(self, ctx: Ctx) -> dict:
        # action/file/GetFile.ts: a path on NapCat's disk; url = the same path for non-media;
        # group-file model ids give file_size "" and file_name ""; base64 only with
        # enableLocalFile2Url (default false)
        key = str(ctx.params.get("file_id") or ctx.params.get("file") or "")
        found = ctx.account.file_keys.get(key)
        file = ctx.world.find_file(*found) if found else None
        if file is None:
            return self.fail(ctx, "file not found")
        path = ctx.world.local_copy(file)
        data: dict[str, Any] = {"file": path, "url": path, "file_size": "", "file_name": ""}
        if ctx.account.local_file2url:
            data["base64"] = base64.b64encode(file.data).decode("ascii")
        return self.ok(ctx, data)

    # -- history: action/go-cqhttp/GetGroupMsgHistory.ts --------------------------------------

    def get_group_msg_history(self, ctx: Ctx) -> dict:
        p = ctx.params
        raw_seq = p.get("message_seq")
        seq = _int(raw_seq) or 0  # NapCat's short message_id; missing/0 = latest
        count = _int(p.get("count")) or 20
        reverse = _truthy(p.get("reverse_order")) or _truthy(p.get("reverseOrder"))
        history = self.visible_history(ctx, _int(p.get("group_id")) or 0) or []
        if seq:
            anchor = ctx.account.messages.get(seq)
            history = _up_to(history, anchor)
        items = history[-count:]
        if not items:  # an empty result throws `消息${message_seq}不存在`
            return self.fail(ctx, f"消息{'undefined' if raw_seq is None else raw_seq}不存在")
        if reverse:
            items = items[::-1]
        return self.ok(ctx, {"messages": [self.history_item(ctx, m) for m in items]})

    # -- friends: helper/data.ts, action/user/SetFriendAddRequest.ts ---------------------------

    def friend_item(self, world: QQWorld, user_id: int) -> dict:
        return {"user_id": user_id, "nickname": world.nickname(user_id), "remark": "",
                "sex": "unknown", "age": 0, "birthday_year": 0, "birthday_month": 0,
                "birthday_day": 0, "phone_num": "", "email": "", "category_id": 0, "level": 0}

    def no_such_request(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "No such request")

    # -- groups: action/system/GetVersionInfo.ts, helper/data.ts ------------------------------

    def get_version_info(self, ctx: Ctx) -> dict:
        return self.ok(ctx, {"app_name": "NapCat.Onebot", "protocol_version": "v11",
                             "app_version": self.version})

    def group_info(self, ctx: Ctx, group) -> dict:
        return {"group_all_shut": -1 if group.whole_mute else 0, "group_remark": "",
                "group_id": group.group_id, "group_name": group.name,
                "member_count": self.member_count(group),
                "max_member_count": group.max_member_count}

    def member_not_found(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        if not ctx.world.knows(ctx.self_id, user_id):
            return self.fail(ctx, f"Uin2Uid Error: 用户ID {user_id} 不存在")
        return self.fail(ctx, f"群({group_id})成员{user_id}不存在")


class LLOneBot(RealProfile):
    """LLOneBot (``src/onebot11``), over WebSocket."""

    name = "llonebot"
    version = "7.0.1"  # src/version.ts

    # -- envelope: src/onebot11/action/OB11Response.ts, BaseAction.ts --------------------------

    def ok(self, ctx: Ctx, data: Any = None) -> dict:
        answer = {"status": "ok", "retcode": 0, "data": None if data is MISSING else data,
                  "message": "", "wording": ""}
        if ctx.echo is not None:  # echo only when the request had one
            answer["echo"] = ctx.echo
        return answer

    def error(self, ctx: Ctx, retcode: int, message: str = "") -> dict:
        answer = {"status": "failed", "retcode": retcode, "data": None, "message": message,
                  "wording": message}
        if ctx.echo is not None:
            answer["echo"] = ctx.echo
        return answer

    def unknown_action(self, ctx: Ctx) -> dict:
        return self.error(ctx, 1404, f"{ctx.action} API 不存在")  # connect/ws.ts

    # -- sending: src/onebot11/helper/createMessage.ts createPeer L308-337 --------------------

    def route(self, ctx: Ctx) -> Target | dict:
        target = self.qqnt_route(ctx, keep_group_id=False)  # group_id ignored for private
        return target or self.fail(ctx, "请指定 group_id 或 user_id")  # unconfirmed text

    def private_target(self, ctx: Ctx, user_id: int, group_id: int | None) -> Target | dict:
        world = ctx.world
        if not world.knows(ctx.self_id, user_id):
            return self.fail(ctx, "无法获取用户信息")
        if world.is_friend(ctx.self_id, user_id):
            return Target("private", user_id)
        cached = ctx.account.temp_chats.get(user_id)
        if cached is not None:  # getTempChatInfo has a groupCode: TempC2CFromGroup
            return Target("private", user_id, via_group=cached, temp=True)
        # plain C2C; never starts a temp chat (#504, #107): QQ answers result 16 (#752)
        return Target("private", user_id, refused="not_friend")

    def precheck(self, ctx: Ctx, target: Target) -> dict | None:
        # src/ntqqapi/core.ts L87-95: its own mute check (the bot's personal mute only)
        if target.kind == "group" and ctx.world.mute_left(ctx.self_id, target.id) > 0:
            return self.fail(ctx, "当前处于被禁言状态")
        return None

    def invoke_args(self, ctx: Ctx, target: Target) -> str:
        """How ntcall.ts prints the sendMsg arguments (shape from #752; details unconfirmed)."""
        chat_type = 2 if target.kind == "group" else 100 if target.temp else 1
        peer = str(target.id) if target.kind == "group" else ctx.world.uid(target.id)
        return (f"[ '0', {{ chatType: {chat_type}, peerUid: '{peer}', guildId: "
                f"'{target.via_group or ''}' }}, [ [Object] ], Map(0) {{}} ]")

    def refusal(self, ctx: Ctx, target: Target, kind: str) -> dict:
        # ntqqapi/ntcall.ts invoke(): DetailedError('invoke failed, <func>, <args>, <result>')
        result, text = KERNEL_RESULTS[kind]
        return self.fail(ctx, "invoke failed, wrapperSession.getMsgService().sendMsg, "
                              f"{self.invoke_args(ctx, target)}, "
                              f"{{ result: {result}, errMsg: '{text}' }}")

    def timeout(self, ctx: Ctx, target: Target, delivered: bool) -> dict:
        # src/ntqqapi/core.ts sendMessage: 10 s + size; ntcall.ts rejects with this text.
        # Whether a timed-out send was sometimes delivered: unconfirmed (same kernel as
        # NapCat, so modelled the same way)
        return self.fail(ctx, "invoke timeout, wrapperSession.getMsgService().sendMsg, "
                              f"{self.invoke_args(ctx, target)}")

    def empty_message(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "消息体无法解析，请检查是否发送了不支持的消息类型")

    def check_segments(self, ctx: Ctx, segments: Segments) -> Segments | dict:
        if any(isinstance(s, dict) and s.get("type") == "node" for s in segments):
            return self.fail(ctx, "请使用 /send_group_forward_msg 或 /send_private_forward_msg "
                                  "进行合并转发")
        return super().check_segments(ctx, segments)

    def file_error(self, ctx: Ctx, source: str) -> dict | str | None:
        # helper/createMessage.ts handleOb11RichMedia -> uri2local
        if self.read_source(ctx, source) is None:
            return self.fail(ctx, "未知文件类型或路径不存在")
        return None

    def sent_event(self, world: QQWorld, acct: Account,
                   message: GroupMessage | PrivateMessage) -> dict:
        if isinstance(message, GroupMessage):
            event = self.group_event(world, acct, message)
        else:
            event = self.private_event(world, acct, message)
            event.update(user_id=acct.self_id,
                         sender={"user_id": acct.self_id, "nickname": acct.nickname})
        event.update(post_type="message_sent", message_sent_type="self",
                     target_id=message.group_id if isinstance(message, GroupMessage)
                     else message.user_id)
        return event

    # -- ids and events -----------------------------------------------------------------------

    def new_id(self, acct: Account, message: GroupMessage | PrivateMessage) -> int:
        # src/main/store.ts: hash.readInt32BE() with no mask: may be negative
        for salt in itertools.count():
            candidate = _signed32(_hash32(acct.self_id, len(acct.messages), message.time, salt))
            if candidate and candidate not in acct.messages:
                return candidate
        raise AssertionError

    def group_event(self, world: QQWorld, acct: Account, message: GroupMessage,
                    role: str | None = None) -> dict:
        # src/onebot11/entities.ts: message_seq is QQ's real seq, not the message_id
        return {"self_id": acct.self_id, "user_id": message.sender, "time": message.time,
                "message_id": self.message_id(acct, message), "message_seq": message.seq,
                "message_type": "group",
                "sender": self.sender(world, message.group_id, message.sender, role),
                "raw_message": to_cq(message.segments), "font": 14, "sub_type": "normal",
                "message": message.segments, "message_format": "array",
                "post_type": "message", "group_id": message.group_id}

    def private_event(self, world: QQWorld, acct: Account, message: PrivateMessage) -> dict:
        sender: dict[str, Any] = {"user_id": message.user_id,
                                  "nickname": world.nickname(message.user_id), "card": ""}
        event = {"self_id": acct.self_id, "user_id": message.user_id, "time": message.time,
                 "message_id": self.message_id(acct, message), "message_seq": message.time,
                 "message_type": "private", "sender": sender,
                 "raw_message": to_cq(message.segments), "font": 14, "sub_type": "friend",
                 "message": message.segments, "message_format": "array",
                 "post_type": "message"}
        if message.temp:
            # entities.ts L115-127: the group is inside `sender`, not at the top level
            sender["group_id"] = message.via_group or 284840486
            event.update(sub_type="group", temp_source=0)
        return event

    def notice(self, world: QQWorld, acct: Account, kind: str, group_id: int,
               **fields: Any) -> list[dict]:
        if kind == "group_decrease" and fields.get("sub_type") == "kick_me":
            # entities.ts L606-613: kick_me with the admin as operator, `leave` without one
            fields = {**fields, "sub_type": "kick_me" if fields.get("operator_id") else "leave"}
        if kind == "group_increase" and fields.get("user_id") == acct.self_id:
            # gray tip MemberIncrease for the bot itself: sub_type approve, operator admin/self
            fields = {**fields, "sub_type": "approve",
                      "operator_id": fields.get("operator_id") or acct.self_id}
        if kind == "group_disband":
            # a separate OB11GroupDismissEvent; its field names are unconfirmed
            return [{"time": int(time.time()), "self_id": acct.self_id, "post_type": "notice",
                     "notice_type": "group_dismiss", "group_id": group_id,
                     "user_id": fields["operator_id"]}]
        return super().notice(world, acct, kind, group_id, **fields)

    def request_flag(self, world: QQWorld, user_id: int, when: int) -> str:
        return f"{world.uid(user_id)}|{when}"  # adapter.ts handleFriendRequest

    # -- files: action/go-cqhttp/UploadGroupFile.ts -> src/common/utils/file.ts uri2local -------

    def upload_checks(self, ctx: Ctx, p: dict) -> tuple[str, bytes] | dict:
        source = str(p.get("file"))
        data = self.read_source(ctx, source)
        if data is None:
            return self.fail(ctx, "未知文件类型或路径不存在")
        name = str(p.get("name") or "")
        if "/" in name or "\\" in name:
            return self.fail(ctx, f"文件名 {name} 不合法")
        if not name:  # base64/URL without a name: a random UUID, no extension
            hexes = ctx.world.token(128)
            name = f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"
        return name, data

    def upload_failed(self, ctx: Ctx) -> dict:
        # unconfirmed: QQ's transfer failure, through invoke() like every kernel error
        return self.fail(ctx, "invoke failed, wrapperSession.getMsgService().sendMsg, "
                              "[ [Object] ], { result: -1, errMsg: 'rich media transfer failed' }")

    def get_group_root_files(self, ctx: Ctx) -> dict:
        # GetGroupRootFiles.ts: only group_id; pages through everything; raw QQ file ids
        group_id = _int(ctx.params.get("group_id")) or 0
        found = self.root_files(ctx, group_id, "/")
        if isinstance(found, dict):
            return found
        files, folders = found
        return self.ok(ctx, {
            "files": [self.file_item(ctx, group_id, f, f.file_id) for f in files],
            "folders": [self.folder_item(ctx, group_id, n) for n in folders]})

    def get_group_files_by_folder(self, ctx: Ctx) -> dict:
        # folder_id required (folder not accepted); folders always []
        p = ctx.params
        if not p.get("folder_id"):
            return self.bad_params(ctx, "folder_id 不能为空")  # unconfirmed wording
        group_id = _int(p.get("group_id")) or 0
        found = self.root_files(ctx, group_id, str(p["folder_id"]).lstrip("/") or "/")
        if isinstance(found, dict):
            return found
        return self.ok(ctx, {"files": [self.file_item(ctx, group_id, f, f.file_id)
                                       for f in found[0]], "folders": []})

    def get_file(self, ctx: Ctx) -> dict:
        # action/file/GetFile.ts: only files in LLOneBot's own message cache; group-file ids
        # from get_group_root_files are not there (unconfirmed)
        return self.fail(ctx, "file not found")

    # -- history: action/go-cqhttp/GetGroupMsgHistory.ts --------------------------------------

    def get_group_msg_history(self, ctx: Ctx) -> dict:
        p = ctx.params
        seq = _int(p.get("message_seq")) or 0  # QQ's real seq; missing/0 = latest
        count = _int(p.get("count")) or 20
        history = self.visible_history(ctx, _int(p.get("group_id")) or 0) or []
        if seq:
            history = [m for m in history if m.seq <= seq]
        items = history[-count:]
        if _truthy(p.get("reverseOrder")):  # camelCase only
            items = items[::-1]
        return self.ok(ctx, {"messages": [self.history_item(ctx, m) for m in items]})

    # -- friends ------------------------------------------------------------------------------

    def friend_item(self, world: QQWorld, user_id: int) -> dict:
        return {"user_id": user_id, "nickname": world.nickname(user_id), "remark": "",
                "sex": "unknown", "birthday_year": 0, "birthday_month": 0, "birthday_day": 0,
                "age": 0, "qid": "", "long_nick": ""}

    def no_such_request(self, ctx: Ctx) -> dict:
        flag = str(ctx.params.get("flag") or "")
        if "|" not in flag:
            return self.fail(ctx, "无效的flag")
        # a well-formed flag QQ does not know: QQ's errMsg (text unconfirmed)
        return self.fail(ctx, "invoke failed, approvalFriendRequest, { result: 1, errMsg: '' }")

    # -- groups -------------------------------------------------------------------------------

    def get_version_info(self, ctx: Ctx) -> dict:
        return self.ok(ctx, {"app_name": "LLOneBot", "protocol_version": "v11",
                             "app_version": self.version})

    def group_info(self, ctx: Ctx, group) -> dict:
        return {"group_id": group.group_id, "group_name": group.name, "group_memo": "",
                "group_create_time": 0, "member_count": self.member_count(group),
                "max_member_count": group.max_member_count, "remark_name": ""}

    def member_info(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        info = super().member_info(ctx, group_id, user_id)
        info["card_or_nickname"] = info["card"] or info["nickname"]
        return info

    def member_not_found(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        return self.fail(ctx, "无法获取用户信息")


class Lagrange(RealProfile):
    """Lagrange.OneBot (branch ``v1``, ``Lagrange.OneBot/Core/Operation``), over WebSocket."""

    name = "lagrange"
    generic_retcode = 200  # Core/Operation/OperationService.cs: any exception
    bad_params_retcode = 200

    def __init__(self) -> None:
        super().__init__()
        # no get_file / get_image / get_record in the Operation list -> 404
        del self.handlers["get_file"]

    # -- envelope: Core/Entity/Action/OneBotResult.cs (no message, no wording) ----------------

    def ok(self, ctx: Ctx, data: Any = None) -> dict:
        return {"status": "ok", "retcode": 0, "data": None if data is MISSING else data,
                "echo": ctx.echo}

    def error(self, ctx: Ctx, retcode: int, message: str = "", status: str = "failed") -> dict:
        return {"status": status, "retcode": retcode, "data": None, "echo": ctx.echo}

    def unknown_action(self, ctx: Ctx) -> dict:
        return self.error(ctx, 404)

    # -- sending: SendPrivateMessageOperation.cs, MessageCommon.ParseChain ---------------------

    def route(self, ctx: Ctx) -> Target | dict:
        p = ctx.params
        group_id, user_id = _int(p.get("group_id")), _int(p.get("user_id"))
        if ctx.action == "send_group_msg" or (ctx.action == "send_msg" and p.get(
                "message_type") != "private" and group_id is not None):
            if group_id is None:
                return self.fail(ctx, "")
            return Target("group", group_id)
        if user_id is None:
            return self.fail(ctx, "")
        return self.private_target(ctx, user_id, None)  # always Friend(user_id)

    def private_target(self, ctx: Ctx, user_id: int, group_id: int | None) -> Target | dict:
        if ctx.world.is_friend(ctx.self_id, user_id):
            return Target("private", user_id)
        # no temp sessions at all (#507); a non-friend has no FriendInfo, the C2C routing
        # head gets a null uid (MessagePacker.cs L247-249). Unconfirmed whether QQ's result
        # or 9057 comes back; 9057, as in #779 (a private send_msg failing with 9057)
        return Target("private", user_id, refused="not_friend")

    def refusal(self, ctx: Ctx, target: Target, kind: str) -> dict:
        # OperationLogic.cs: the server's result becomes the retcode, with no text
        if kind == "not_friend":
            return self.error(ctx, 9057)
        return self.error(ctx, KERNEL_RESULTS[kind][0])

    def timeout(self, ctx: Ctx, target: Target, delivered: bool) -> dict:
        # no OneBot-level timeout; no response event -> Result 9057 (OperationLogic.cs)
        return self.error(ctx, 9057)

    def empty_message(self, ctx: Ctx) -> dict:
        return self.fail(ctx, "")  # unconfirmed: an empty chain throws somewhere -> 200

    def file_error(self, ctx: Ctx, source: str) -> dict | str | None:
        # Message/Entity/ImageSegment.cs + CommonResolver.ResolveStream: base64, http(s),
        # file:// and absolute paths; a relative path throws (200); other schemes -> dropped
        if source.startswith(("base64://", "http://", "https://", "file://", "/")):
            path = source[7:] if source.startswith("file://") else source
            if source.startswith(("file://", "/")) and not ctx.world.qq_path_exists(path):
                return self.fail(ctx, "")
            return None if self.read_source(ctx, source) is not None else self.fail(ctx, "")
        if "://" in source or source.startswith("data:"):
            return "drop"
        return self.fail(ctx, "")

    # -- ids and events -----------------------------------------------------------------------

    def new_id(self, acct: Account, message: GroupMessage | PrivateMessage) -> int:
        # Database/MessageRecord.cs: ((ushort)seq << 16) | (ushort)msgId; may be negative
        if isinstance(message, GroupMessage):
            seq = message.seq
        else:
            acct._private_seq += 1
            seq = acct._private_seq
        for salt in itertools.count():  # it can collide in Lagrange; the fake re-rolls
            low = _hash32("lagrange", acct.self_id, len(acct.messages), message.time, salt)
            candidate = _signed32(((seq & 0xFFFF) << 16) | (low & 0xFFFF))
            if candidate and candidate not in acct.messages:
                return candidate
        raise AssertionError

    def group_event(self, world: QQWorld, acct: Account, message: GroupMessage,
                    role: str | None = None) -> dict:
        # Message/MessageService.cs; no message_seq (field set unconfirmed beyond the basics)
        sender = self.sender(world, message.group_id, message.sender, role)
        return {"time": message.time, "self_id": acct.self_id, "post_type": "message",
                "message_type": "group", "sub_type": "normal",
                "message_id": self.message_id(acct, message), "group_id": message.group_id,
                "user_id": message.sender, "anonymous": None, "message": message.segments,
                "raw_message": to_cq(message.segments), "font": 0,
                "sender": {**sender, "sex": "unknown", "age": 0, "area": "", "level": "0",
                           "title": ""}}

    def private_event(self, world: QQWorld, acct: Account, message: PrivateMessage) -> dict:
        event = {"time": message.time, "self_id": acct.self_id, "post_type": "message",
                 "message_type": "private", "sub_type": "friend",
                 "message_id": self.message_id(acct, message), "user_id": message.user_id,
                 "message": message.segments, "raw_message": to_cq(message.segments),
                 "font": 0, "sender": {"user_id": message.user_id,
                                       "nickname": world.nickname(message.user_id),
                                       "sex": "unknown", "age": 0},
                 "target_id": 0, "message_style": None}
        if message.temp:
            # MessageService.cs OnTempMessageReceived: no group_id, no temp_source at all
            event.update(sub_type="group", sender={"user_id": message.user_id, "nickname": "",
                                                   "sex": "unknown", "age": -1})
        return event

    def report_self(self, ctx: Ctx, message: GroupMessage | PrivateMessage) -> None:
        pass  # no message_sent ever (IgnoreSelf, default true, drops the bot's own messages)

    def history_post_type(self, acct: Account, message: GroupMessage) -> str:
        return "message"  # the bot's own messages: post_type message, user_id = self_id

    def notice(self, world: QQWorld, acct: Account, kind: str, group_id: int,
               **fields: Any) -> list[dict]:
        # Core/Notify/NotifyService.cs L37-41, L143-148; kick_me's operator_id comes from a
        # group-request look-up and is often 0
        if kind == "group_decrease" and fields.get("sub_type") == "kick_me":
            fields = {**fields, "operator_id": 0}
        return super().notice(world, acct, kind, group_id, **fields)

    def friend_request_events(self, world: QQWorld, acct: Account,
                              request: FriendRequest) -> list[dict]:
        # NotifyService.cs L43-47: a friend_add notice first, at request time (before approval)
        first = {"time": request.time, "self_id": acct.self_id, "post_type": "notice",
                 "notice_type": "friend_add", "user_id": request.user_id}
        return [first, *super().friend_request_events(world, acct, request)]

    def request_flag(self, world: QQWorld, user_id: int, when: int) -> str:
        return world.uid(user_id)  # the requester's uid

    def after_accept(self, ctx: Ctx, request: FriendRequest) -> None:
        pass  # the friend_add notice came with the request already

    # -- files: Core/Operation/File/UploadGroupFileOperation.cs ------------------------------

    def upload_checks(self, ctx: Ctx, p: dict) -> tuple[str, bytes] | dict:
        # FileEntity(path) opens a FileStream: a local path only. base64://, http:// and a
        # missing path throw -> failed/200; file:// is taken as a relative path (#848)
        source = str(p.get("file"))
        if not ctx.world.qq_path_exists(source):
            return self.fail(ctx, "")
        with open(source, "rb") as handle:
            data = handle.read()
        return str(p.get("name") or source.rsplit("/", 1)[-1]), data

    def upload_ok(self, ctx: Ctx, file: GroupFile) -> dict:
        return self.ok(ctx, None)  # new OneBotResult(null, result.Retcode, "ok"): no file_id

    def upload_failed(self, ctx: Ctx) -> dict:
        # since #791 the status carries the error text (FileUploader.cs, OperationLogic.cs)
        return self.error(ctx, -91001, status="Highway Failed")

    def get_group_root_files(self, ctx: Ctx) -> dict:
        # Core/Operation/File/GroupFSOperations.cs: one handler for root and folder; params
        # group_id, folder_id (default "/"); no count; busid 0
        p = ctx.params
        group_id = _int(p.get("group_id")) or 0
        folder = str(p.get("folder_id") or "/")
        found = self.root_files(ctx, group_id, folder.lstrip("/") or "/")
        if isinstance(found, dict):
            return found
        files, folders = found
        items = []
        for f in files:
            item = self.file_item(ctx, group_id, f, f.file_id)
            item.pop("size")
            item["busid"] = 0
            items.append(item)
        return self.ok(ctx, {"files": items, "folders": [
            {k: v for k, v in self.folder_item(ctx, group_id, n).items() if k != "folder"}
            for n in folders]})

    get_group_files_by_folder = get_group_root_files

    # -- history: Core/Operation/Message/GetGroupMessageHistoryOperation.cs -------------------

    def visible_history(self, ctx: Ctx, group_id: int) -> list[GroupMessage] | None:
        # only the local Realm database: what this account received or sent while running
        history = super().visible_history(ctx, group_id)
        if history is None:
            return None
        return [m for m in history if ctx.self_id in m.seen_by or m.sender == ctx.self_id]

    def get_group_msg_history(self, ctx: Ctx) -> dict:
        p = ctx.params
        group_id = _int(p.get("group_id")) or 0
        anchor_id = _int(p.get("message_id")) or 0  # 0 = latest in the local database
        count = _int(p.get("count")) or 20
        history = self.visible_history(ctx, group_id) or []
        if anchor_id:
            anchor = ctx.account.messages.get(anchor_id)
            history = _up_to(history, anchor)
        if not history:  # .First() on nothing throws -> 200
            return self.fail(ctx, "")
        items = history[-count:]
        group = ctx.world.groups[group_id]
        if any(m.sender not in group.members and m.sender not in group.accounts for m in items):
            return self.fail(ctx, "")  # "Group member not found" fails the whole call
        return self.ok(ctx, {"messages": [self.history_item(ctx, m) for m in items]})

    # -- friends: GetFriendListOperation.cs ---------------------------------------------------

    def friend_item(self, world: QQWorld, user_id: int) -> dict:
        # the friend group's fields are unconfirmed beyond their names
        return {"user_id": user_id, "q_id": "", "nickname": world.nickname(user_id),
                "remark": "", "group": {"group_id": 0, "group_name": "我的好友"}}

    def no_such_request(self, ctx: Ctx) -> dict:
        # SetFriendAddRequestOperation: OneBotResult(null, result ? 0 : 1, "ok"), so a failure
        # is status ok with retcode 1 (and `remark` is ignored)
        return {"status": "ok", "retcode": 1, "data": None, "echo": ctx.echo}

    # -- groups: OneBotVersionInfoResponse.cs + Constant.cs -----------------------------------

    def get_version_info(self, ctx: Ctx) -> dict:
        return self.ok(ctx, {"app_name": "Lagrange.OneBot", "app_version": "0.0.3",
                             "protocol_version": "v11", "nt_protocol": "Linux | 3.2.10-25765"})

    def group_info(self, ctx: Ctx, group) -> dict:
        return {"group_id": group.group_id, "group_name": group.name,
                "member_count": self.member_count(group),
                "max_member_count": group.max_member_count}

    def group_not_found(self, ctx: Ctx) -> dict:
        return self.error(ctx, -1)  # #876

    def member_info(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        info = super().member_info(ctx, group_id, user_id)
        keep = ("group_id", "user_id", "nickname", "card", "join_time", "last_sent_time",
                "level", "role", "unfriendly", "title", "title_expire_time", "card_changeable")
        return {**{k: info[k] for k in keep}, "sex": "", "age": 0, "area": ""}

    def member_not_found(self, ctx: Ctx, group_id: int, user_id: int) -> dict:
        return self.error(ctx, -1)

    def recall_unknown(self, ctx: Ctx) -> dict:
        return self.ok(ctx, None)  # recall can answer ok and yet fail (#874); unconfirmed when


PROFILES: dict[str, Plain] = {p.name: p for p in (Plain(), NapCat(), LLOneBot(), Lagrange())}


def get_profile(name: str) -> Plain:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown OneBot profile {name!r}; one of {', '.join(PROFILES)}") \
            from None
