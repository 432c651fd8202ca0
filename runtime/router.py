"""One command router for every feature: plugins declare sub-command tables, one matcher routes.

NoneBot checks every matcher of a priority level for every message (a task and a dependency
solve each), so a bot with a matcher per command pays for all of them on every message. Here
each plugin declares its commands once as ``Command``/``Sub`` tables and registers them; the
single matcher of ``plugins/router`` recognises a command with one dictionary lookup and
runs the right handler. The same table drives dispatch, the admin check, usage replies and
``/帮助``.

A handler is ``async def handler(call: Call) -> Reply`` and answers by returning text (or a
list of pages); ``raise Usage()`` answers with its usage line; a ``DomainError`` is answered
with its message; anything else is logged and answered politely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Message, MessageEvent, MessageSegment

from domain.delivery import friend_hint
from domain.errors import DomainError
from domain.guard import Verdict, event_key
from domain.text import clean_text, clean_words
from runtime import lifecycle
from runtime.args import Token, branch_word, plain_text, rest_text, tokenize
from runtime.context import (
    FAILURE_NOTICE,
    GROUP_ONLY,
    NOT_SET_UP,
    Ctx,
    command_context,
    group_role,
)
from runtime.metrics import timed
from runtime.replies import reply_gate
from runtime.reply import text
from storage.database import DuplicateEvent, EventKey, acting_on

COMMAND_STARTS = ("/", "／")
SQLITE_MAX_INT = 2**63 - 1
MAX_CONVERSATIONS = 10_000  # conversations in progress kept at once (expired ones dropped)
TOO_FAST = "你发得太快了，请稍等一会儿再发。"
MAX_TOLD_STRANGERS = 10_000
Reply = Message | str | list[str] | None
Handler = Callable[["Call"], Awaitable[Reply]]


class Usage(Exception):
    """Raised by a handler: answer with the sub-command's usage line, after ``detail`` if given."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Sub:
    """One sub-command: its word, handler, usage line and who may run it.

    ``name`` None is the command's only action (``/许愿 <内容>``). ``default`` runs when the
    first word is not a sub-command (``/心愿`` or ``/心愿 2``); if it then answers with its usage,
    the whole command's usage is shown. ``private`` allows it in a private chat with the bot
    (the handler then finds its branch itself); ``own_branch`` allows it there for the asker's
    own branch, which ``ctx.branch`` then is (the one they have a profile in, or the one named
    by ``支部#N`` at the end of the command when they have several); ``setup`` allows it in a
    group not yet set up as a branch.
    """

    name: str | None
    run: Handler
    usage: str
    aliases: tuple[str, ...] = ()
    admin: bool = False
    private: bool = False
    own_branch: bool = False  # in a private chat, for the asker's own branch (ctx.branch)
    default: bool = False
    setup: bool = False  # also in a group that is not set up as a branch yet
    creates: bool = False  # creates a record: counts against the daily per-person limit
    secret: bool = False  # its reply is secret: never given to someone not the bot's friend
    anyone: bool = False  # open to everyone although the command is admin-only (/成员 特长)

    @property
    def words(self) -> tuple[str, ...]:
        return ((self.name,) if self.name else ()) + self.aliases


@dataclass(eq=False)
class Command:
    """A top-level command (``/心愿``) with its table of sub-commands."""

    name: str
    subs: tuple[Sub, ...]
    aliases: tuple[str, ...] = ()
    admin: bool = False  # every sub-command is admin-only, checked before parsing
    feature: str = ""  # the plugin's display name, set by ``register``
    by_word: dict[str, Sub] = field(default_factory=dict, repr=False)
    default_sub: Sub | None = field(default=None, repr=False)
    any_own_branch: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.subs = tuple(self.subs)
        self.any_own_branch = any(sub.own_branch for sub in self.subs)
        for sub in self.subs:
            for word in sub.words:
                if word in self.by_word:
                    raise ValueError(f"/{self.name}: sub-command {word!r} declared twice")
                self.by_word[word] = sub
            if sub.default or sub.name is None:
                if self.default_sub is not None:
                    raise ValueError(f"/{self.name}: two default sub-commands")
                self.default_sub = sub

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def usage(self) -> str:
        return "\n".join(sub.usage for sub in self.subs)


@dataclass
class Call:
    """One command as the handler sees it: context, arguments after the sub-command word."""

    ctx: Ctx
    bot: Bot
    event: MessageEvent
    command: Command
    sub: Sub
    arg: Message
    tokens: list[Token]

    def rest(self, skip: int = 0) -> str:
        """The argument text after ``skip`` words, inner spacing kept."""
        return rest_text(self.arg, skip)

    @property
    def text(self) -> str:
        return plain_text(self.arg)

    async def send(self, reply: Reply) -> None:
        """An extra reply before the handler's final one."""
        for message in as_messages(reply):
            await reply_gate.send(self.bot, self.event, message)

    async def recall(self) -> bool:
        """Recall the command's own message in a group, where the bot is a group owner or
        admin (a check-in code, a note on a private problem); True if it was recalled."""
        if self.ctx.group_id is None:
            return False
        role = await group_role(self.bot, self.ctx.svc, self.ctx.group_id, int(self.bot.self_id),
                                None)
        if role not in ("owner", "admin"):
            return False
        try:
            await self.bot.call_api("delete_msg", message_id=self.event.message_id)
        except Exception as exc:
            logger.warning(f"message {self.event.message_id} not recalled: {exc}")
            return False
        return True


@dataclass(frozen=True)
class Route:
    command: Command
    arg: Message
    too_fast: bool = False  # over the person's rate: answer that once, run nothing


class Conversation:
    """A multi-turn exchange (a survey answered step by step): plain text from this person in
    this chat goes to ``feed`` until it returns ``False`` or the conversation expires.
    ``expires_at`` is Unix seconds on the services' clock (``svc.clock``)."""

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at

    async def feed(self, bot: Bot, event: MessageEvent, content: str) -> bool:
        raise NotImplementedError

    async def expired(self, bot: Bot, event: MessageEvent) -> None:
        """Called when the person writes after the conversation timed out."""


class Router:
    """The registry of commands and the dispatch over it."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self._longest = 0
        self.conversations: dict[tuple[int, int | None], Conversation] = {}
        self.told_strangers: set[int] = set()  # told in a temp session to add the bot
        self._next_prune = 0.0  # when old keys of events acted on are next deleted

    def register(self, feature: str, commands: Iterable[Command]) -> None:
        """Add a plugin's commands (``feature`` is its display name, for ``/帮助``)."""
        for command in commands:
            command.feature = feature
            for word in command.words:
                if self.commands.get(word, command) is not command:
                    raise ValueError(f"command /{word} registered twice")
                self.commands[word] = command
                self._longest = max(self._longest, len(word))

    def all_commands(self) -> list[Command]:
        return list(dict.fromkeys(self.commands.values()))

    def find_sub(self, word: str) -> list[tuple[Command, Sub]]:
        """Sub-commands named ``word`` in any command (for ``/帮助 认领``)."""
        return [(c, s) for c in self.all_commands() for s in c.subs if word in s.words]

    # -- matching: runs for every message, so it is plain and cheap --------------------------

    def match(self, message: Message) -> Route | None:
        """The command at the start of ``message`` and its argument, or None."""
        if not message:
            return None
        first = message[0]
        if first.type != "text":
            return None
        content: str = first.data.get("text", "").lstrip()
        if not content or content[0] not in COMMAND_STARTS:
            return None
        head = content[1:1 + self._longest]
        for size in range(len(head), 0, -1):  # longest name first: 积分榜 before 积分
            command = self.commands.get(head[:size])
            if command is not None:
                after = content[1 + size:]
                if after and not after[0].isspace() and not _joins(head[:size], after):
                    return None  # "/积分abc" is not /积分
                return Route(command, _argument(after, message))
        return None

    def admit(self, event: MessageEvent) -> Verdict | None:
        """None for an event seen before; else whether the sender is within their rate.

        Runs in the matcher's rule, before any handler: the cost is a few dictionary lookups.
        """
        svc = lifecycle.services()
        guard = svc.guard
        now = svc.clock.now().timestamp()
        if event.message_type == "group":  # the account that delivered it is in that group
            svc.accounts.joined(int(event.self_id), int(event.group_id))
        if not guard.seen.first_time(key_of(event), now):
            logger.info(f"duplicate event {event.message_id} from {event.user_id} ignored")
            return None
        verdict = guard.flood.admit(int(event.user_id), now)
        if verdict is Verdict.WARN:
            logger.info(f"{event.user_id} is sending commands too fast; answered once")
        return verdict

    def conversation_for(self, event: MessageEvent) -> Conversation | None:
        if not self.conversations:
            return None
        return self.conversations.get(_chat_key(event))

    def start_conversation(self, event: MessageEvent, conversation: Conversation) -> None:
        """Start (or replace) this person's conversation in this chat. Expired conversations
        of anyone are dropped here, and the oldest beyond ``MAX_CONVERSATIONS``."""
        now = lifecycle.services().clock.now().timestamp()
        live = {k: c for k, c in self.conversations.items() if c.expires_at >= now}
        live.pop(_chat_key(event), None)
        while len(live) >= MAX_CONVERSATIONS:
            live.pop(next(iter(live)))
        live[_chat_key(event)] = conversation
        self.conversations = live

    def end_conversation(self, event: MessageEvent) -> None:
        self.conversations.pop(_chat_key(event), None)

    # -- dispatch ------------------------------------------------------------------------

    async def dispatch(self, bot: Bot, event: MessageEvent, route: Route) -> None:
        """Run the routed command and send its replies; never lets an error escape.

        The event's key is written with the command's first write (``acting_on``), or after
        the replies when the command wrote nothing, so a re-delivery is recognised after a
        restart too; a key found already written means the command ran before: silence.
        """
        with acting_on(self._pending_key(event)) as pending, timed(event, route) as run:
            run.outcome = await self._dispatch(bot, event, route)
        await self._remember(pending)

    async def _dispatch(self, bot: Bot, event: MessageEvent, route: Route) -> str:
        """Answer the command; returns its outcome: ok, usage, refused, error or duplicate."""
        command = route.command
        outcome = "ok"
        sub: Sub | None = None
        fell_through = False
        try:
            if route.too_fast:
                raise DomainError(TOO_FAST)
            if not _ids_in_range(event):
                raise DomainError("无法识别这个QQ号或群号。")
            ctx = await command_context(event, bot)
            argument, branch_no = route.arg, None
            if ctx.group_id is None and command.any_own_branch:  # "… 支部#2" in private
                branch_no, argument = branch_word(argument)
            sub, arg, tokens, fell_through = resolve(command, argument)
            if sub is None:
                if command.admin:
                    await ctx.require_admin()
                raise Usage()
            if ctx.branch is None and ctx.group_id is None and sub.own_branch:
                ctx.branch = await ctx.svc.branches.own_branch(
                    ctx.user_id, branch_no, example=sub.usage.split(" —— ")[0] + " 支部#{n}")
            if ctx.branch is None and not (sub.setup or (sub.private and ctx.group_id is None)):
                raise DomainError(GROUP_ONLY if ctx.group_id is None else NOT_SET_UP)
            if (command.admin and not sub.anyone) or sub.admin:
                await ctx.require_admin()
            if sub.secret and not_a_friend(event):
                raise DomainError(secret_refused(int(event.self_id), command, sub))
            if sub.creates:
                day = ctx.svc.clock.now().strftime("%Y-%m-%d")
                if not ctx.svc.guard.quota.take(ctx.user_id, day):
                    raise DomainError(f"你今天已经创建了 {ctx.svc.settings.daily_create_limit} "
                                      "条记录，明天再来吧。")
                try:
                    reply = await sub.run(Call(ctx, bot, event, command, sub, arg, tokens))
                except (Usage, DomainError):
                    ctx.svc.guard.quota.give_back(ctx.user_id, day)  # refused: nothing made
                    raise
            else:
                reply = await sub.run(Call(ctx, bot, event, command, sub, arg, tokens))
        except DuplicateEvent:
            logger.info(f"event {event.message_id} from {event.user_id} was acted on before "
                        "(a re-delivery after a restart): ignored")
            return "duplicate"
        except Usage as exc:
            outcome, reply = "usage", usage_reply(command, None if fell_through else sub,
                                                  exc.detail)
        except DomainError as exc:
            outcome, reply = "refused", str(exc)
        except Exception as exc:
            logger.opt(exception=exc).error(f"command /{command.name} failed")
            outcome, reply = "error", FAILURE_NOTICE
        await self.reply(bot, event, reply, f"/{command.name}")
        return outcome

    async def reply(self, bot: Bot, event: MessageEvent, reply: Reply, what: str) -> None:
        """Send a command's reply (paced and merged in a group), with the one-time note to
        add the bot when a private message has missed this person."""
        messages = as_messages(reply)
        user_id = int(event.user_id)
        try:
            kind = await lifecycle.services().outbox.take_hint(user_id)
        except Exception as exc:
            logger.opt(exception=exc).warning("friend hint not read")
            kind = None
        if kind is None and user_id not in self.told_strangers and not_a_friend(event):
            # a temporary session: once per run, say that secrets need friendship
            kind = "temp_session"
            if len(self.told_strangers) >= MAX_TOLD_STRANGERS:
                self.told_strangers.clear()
            self.told_strangers.add(user_id)
        if kind is not None:
            note = friend_hint(int(event.self_id), kind)
            if messages and all(seg.type == "text" for seg in messages[-1]):
                messages[-1] = messages[-1] + MessageSegment.text("\n" + note)
            else:
                messages.append(text(note))
        try:
            for message in messages:
                await reply_gate.send(bot, event, message)
        except Exception as exc:
            logger.opt(exception=exc).warning(f"reply to {what} not sent")

    def _pending_key(self, event: MessageEvent) -> EventKey:
        return EventKey(key_of(event), int(lifecycle.services().clock.timestamp()))

    async def _remember(self, pending: EventKey) -> None:
        """Record an event whose command wrote nothing; now and then prune old keys."""
        db = lifecycle.services().db
        try:
            await db.remember_event(pending)
            if pending.at >= self._next_prune:
                window = lifecycle.services().settings.duplicate_window_seconds
                self._next_prune = pending.at + window
                await db.prune_events(pending.at - window)
        except Exception as exc:
            logger.opt(exception=exc).warning("could not record an event as acted on")

    async def feed_conversation(self, bot: Bot, event: MessageEvent,
                                conversation: Conversation) -> None:
        with acting_on(self._pending_key(event)) as pending:
            await self._feed_conversation(bot, event, conversation)
        await self._remember(pending)

    async def _feed_conversation(self, bot: Bot, event: MessageEvent,
                                 conversation: Conversation) -> None:
        try:
            if conversation.expires_at < lifecycle.services().clock.now().timestamp():
                self.end_conversation(event)
                await conversation.expired(bot, event)
                return
            if not await conversation.feed(bot, event, clean_text(event.get_plaintext()).strip()):
                self.end_conversation(event)
        except DuplicateEvent:
            return
        except Exception as exc:
            self.end_conversation(event)
            logger.opt(exception=exc).error("conversation failed")
            await reply_gate.send(bot, event, text(FAILURE_NOTICE))


def resolve(command: Command, arg: Message) -> tuple[Sub | None, Message, list[Token], bool]:
    """The sub-command named by the first word (else the default), its argument and tokens,
    and whether the default was reached with words it may not understand."""
    tokens = tokenize(arg)
    first = tokens[0] if tokens else None
    if isinstance(first, str) and first in command.by_word:
        return command.by_word[first], _drop_first_word(arg), tokens[1:], False
    sub = command.default_sub
    return sub, arg, tokens, bool(tokens) and sub is not None and sub.name is not None


def usage_reply(command: Command, sub: Sub | None, detail: str | None = None) -> str:
    """``用法：<line>`` for one sub-command, or every line of the command."""
    body = sub.usage if sub is not None else "\n" + command.usage()
    return (f"{detail}\n" if detail else "") + "用法：" + body


def as_messages(reply: Reply) -> list[Message]:
    if reply is None:
        return []
    if isinstance(reply, Message):
        return [reply]
    if isinstance(reply, str):
        return [text(reply)]
    return [text(page) for page in reply]


def _joins(name: str, after: str) -> bool:
    # Chinese commands are typed without a space as often as with one (/签到8492, /许愿借伞);
    # an ASCII alias followed by letters is another word (/helpme is not /help).
    return not (name.isascii() and after[0].isascii() and after[0].isalpha())


def _argument(after: str, message: Message) -> Message:
    """The command's argument, with user text cleaned (control and bidi characters, lone
    surrogates) word by word before any handler sees it: a word of invisible characters stays
    a word, an empty one (``EMPTY_WORD``)."""
    arg = Message()
    after = clean_words(after).lstrip()
    if after:
        arg.append(MessageSegment.text(after))
    for seg in message[1:]:
        if seg.type == "text":
            cleaned = clean_words(seg.data.get("text", ""))
            if cleaned.strip():
                arg.append(MessageSegment.text(cleaned))
        else:
            arg.append(seg)
    return arg


def key_of(event: MessageEvent) -> bytes:
    """The event's identity for the duplicate filter (``domain.guard.event_key``): what was
    typed is the message as the QQ side sent it (before the adapter strips an @ of the bot),
    so it is the same whichever of the bot's accounts received it."""
    group = getattr(event, "group_id", None) if event.message_type == "group" else None
    return event_key(group_id=group, user_id=int(event.user_id),
                     event_time=int(event.time), content=plain_text(event.original_message),
                     self_id=int(event.self_id), message_id=int(event.message_id))


def _ids_in_range(event: MessageEvent) -> bool:
    # SQLite integers are signed 64-bit; a QQ side sending more is broken or hostile
    ids = (event.user_id, getattr(event, "group_id", None) or 0)
    return all(0 < int(i) < SQLITE_MAX_INT or i == 0 for i in ids)


def _drop_first_word(arg: Message) -> Message:
    """``arg`` without its first word (which is plain text at the start)."""
    rest = Message()
    dropped = False
    for seg in arg:
        if not dropped and seg.type == "text":
            parts = seg.data.get("text", "").lstrip().split(maxsplit=1)
            if not parts:
                continue
            dropped = True
            if len(parts) > 1:
                rest.append(MessageSegment.text(parts[1]))
            continue
        rest.append(seg)
    return rest


def not_a_friend(event: MessageEvent) -> bool:
    """A private message from someone who is not the receiving account's friend: a temporary
    session (``sub_type`` "group" on NapCat, LLOneBot and Lagrange), or a person the account's
    friend list does not hold."""
    if event.message_type != "private":
        return False
    if getattr(event, "sub_type", "") == "group":  # NapCat also puts a group_id on these
        return True
    account = lifecycle.services().accounts.get(int(event.self_id))
    return account.is_friend(int(event.user_id)) is False


def secret_refused(self_id: int, command: Command, sub: Sub) -> str:
    words = f"/{command.name}" + (f" {sub.name}" if sub.name else "")
    return (f"这条命令的回复只能私聊发给好友。请先加我（QQ {self_id}）为好友，"
            f"再私聊发送 {words}。")


def _chat_key(event: MessageEvent) -> tuple[int, int | None]:
    # a temporary session's event carries a group_id too (NapCat): it is still a private chat
    group = getattr(event, "group_id", None) if event.message_type == "group" else None
    return int(event.user_id), group


router = Router()


def register(feature: str, *commands: Command) -> None:
    """Register a plugin's command tables with the one router."""
    router.register(feature, commands)


def usage_of(*commands: Command) -> str:
    """A plugin's usage text for its PluginMetadata: every line of its tables."""
    return "\n".join(c.usage() for c in commands)


def recorded(state: dict[str, Any]) -> Route:
    return state["zhibu_route"]
