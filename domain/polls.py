"""投票 polls: one ballot per person, replaceable until close (not when anonymous), deadlines,
hidden results, turnout; anonymous ballots that the database cannot link to a person, committed
in batches (``domain.anonymity``) so that neither can its history."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from config import BranchConfig
from domain.anonymity import WaitingBallots, tell_lost
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.outbox import OutboxService, text_segment
from domain.text import require_text
from domain.timeparse import parse_moment
from storage.database import Database
from storage.polls import PollRepository, PollRow, VoteRecord

log = logging.getLogger("zhibu.polls")

MULTI, ANONYMOUS, HIDE_RESULTS = "多选", "匿名", "隐藏结果"
FLAGS = (MULTI, ANONYMOUS, HIDE_RESULTS)
MIN_OPTIONS = 2
BAR_FULL, BAR_EMPTY = "█", "░"
# A stray or repeated deadline job may arrive a little early; never close sooner than this.
EARLY_TOLERANCE_SECONDS = 1
# Polls listed: open ones and those closed in the last this many days.
RECENT_DAYS = 7

_PARTS = re.compile(r"[|｜\n]")
_TRAILING_FLAG = re.compile(r"(?:^|\s)(多选|匿名|隐藏结果)\s*$")
# 截止 followed by a time (a space, a digit or 今天/明天/后天), not 截止日期 inside an option
_DEADLINE = re.compile(r"(?:^|\s)截止(?=\s|[0-9今明后])")


class PollInputError(DomainError):
    """The poll or ballot as typed cannot be used; the plugin answers with the usage line."""


@dataclass(frozen=True)
class PollDraft:
    question: str
    options: list[str]
    multi: bool = False
    anonymous: bool = False
    hide_results: bool = False
    closes_at: datetime | None = None


@dataclass(frozen=True)
class Ballot:
    poll: PollRow
    choices: tuple[int, ...]
    outcome: str  # new / replaced / already (anonymous: not replaced)
    previous: tuple[int, ...] = ()


@dataclass(frozen=True)
class Tally:
    poll: PollRow
    counts: tuple[int, ...]
    voters: int  # people whose ballot is counted
    member_voters: int  # of them, people with an active profile in the branch
    members: int  # active profiles in the branch
    waiting: int = 0  # anonymous: ballots received, not counted yet (their batch is not full)

    @property
    def turnout(self) -> float | None:
        return turnout(self.member_voters, self.members)

    def share(self, index: int) -> float | None:
        """The share of voters who chose option ``index`` (0-based)."""
        return None if not self.voters else self.counts[index] / self.voters


@dataclass(frozen=True)
class CatchUp:
    announced: list[int]  # closed at start-up within the grace: result posted
    quiet: list[int]  # closed at start-up too late to post: logged only
    pending: list[PollRow]  # deadline still ahead: to be armed
    lost: int = 0  # anonymous ballots that were waiting when the bot stopped: voters told


def turnout(member_voters: int, members: int) -> float | None:
    """参与率: people with an active profile who voted / active profiles in the branch."""
    return None if not members else member_voters / members


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def bar(share: float | None, width: int) -> str:
    filled = min(int((share or 0) * width + 0.5), width)  # half rounds up
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def parse_poll(text: str, now: datetime, settings: BranchConfig) -> PollDraft:
    """``<问题> | <选项1> | <选项2> [| …] [多选] [匿名] [截止 <时间>] [隐藏结果]``.

    Parts are separated by ``|`` (or ``｜``) or new lines, so options may contain spaces. The
    flags are read from the end of the last option (or parts of their own after it).
    """
    parts = [p.strip() for p in _PARTS.split(text or "")]
    flags: set[str] = set()
    closes_at: datetime | None = None
    while parts:
        rest, found, when = _strip_flags(parts[-1], now, settings.time_horizon_days)
        flags |= found
        if when is not None:
            if closes_at is not None:
                raise PollInputError("截止时间只能写一次。")
            closes_at = when
        if rest:
            parts[-1] = rest
            break
        parts.pop()
    parts = [p for p in parts if p]
    if not parts:
        raise PollInputError("请写出投票问题和选项。")
    question = require_text(parts[0], settings.poll_question_max_length, "投票问题")
    options = parts[1:]
    most = settings.poll_max_options
    if not MIN_OPTIONS <= len(options) <= most:
        raise PollInputError(f"选项需要 {MIN_OPTIONS} 到 {most} 个，现在 {len(options)} 个"
                             "（用 | 或换行分隔）。")
    seen: dict[str, int] = {}
    for i, option in enumerate(options, start=1):
        require_text(option, settings.poll_option_max_length, f"选项 {i}")
        if option in seen:
            raise PollInputError(f"选项 {i} 与选项 {seen[option]} 重复。")
        seen[option] = i
    return PollDraft(question, options, MULTI in flags, ANONYMOUS in flags,
                     HIDE_RESULTS in flags, closes_at)


def _strip_flags(part: str, now: datetime,
                 horizon_days: int) -> tuple[str, set[str], datetime | None]:
    """``part`` without its trailing flags and deadline; the flags; the deadline."""
    found: set[str] = set()
    when: datetime | None = None
    # the last 截止 is the flag; an earlier one belongs to the option text
    deadline = next(reversed(list(_DEADLINE.finditer(part))), None)
    if deadline is not None:
        when, after = parse_moment(part[deadline.end():], now, horizon_days=horizon_days)
        after_flags = after.split()
        if any(word not in FLAGS for word in after_flags):
            raise PollInputError(f"截止时间后面只能再写 {'、'.join(FLAGS)}。")
        found |= set(after_flags)
        part = part[:deadline.start()]
    while (match := _TRAILING_FLAG.search(part)) is not None:
        found.add(match.group(1))
        part = part[:match.start()]
    return part.strip(), found, when


def parse_choices(words: list[str]) -> tuple[int, ...] | None:
    """Option numbers typed after the poll number (``1 3``, ``1,3``, ``1、3``); None if any
    is not a number from 1 up."""
    found: list[int] = []
    for word in words:
        for piece in re.split(r"[,，、]", word):
            if not piece:
                continue
            if not piece.isascii() or not piece.isdigit() or len(piece) > 3 or int(piece) < 1:
                return None
            found.append(int(piece))
    return tuple(sorted(set(found))) or None


class PollService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.outbox = outbox
        self.repo = PollRepository(db)
        # told the final tally of every poll that closes, inside the closing transaction
        self.close_hooks: list[Callable[[Tally], Awaitable[None]]] = []
        self.waiting: WaitingBallots[tuple[int, ...]] = WaitingBallots(
            db, settings.anonymous_batch, what="poll", waiting=self.repo.waiting,
            store=self._store_batch, drop=self.repo.drop_waiting, tell_lost=self._tell_lost)

    # creating and finding ----------------------------------------------------------------

    async def create(self, branch_id: int, group_id: int | None, actor: Actor,
                     text: str) -> PollRow:
        await self.branches.require_admin(branch_id, actor)
        draft = parse_poll(text, self.clock.now(), self.settings)
        return await self.open_poll(branch_id, group_id, actor, draft)

    async def open_poll(self, branch_id: int, group_id: int | None, actor: Actor,
                        draft: PollDraft) -> PollRow:
        """Store a poll already checked (by ``parse_poll`` or by the feature that builds it)
        and announce it to the branch's other groups; inside the caller's transaction if any."""
        now = self.clock.timestamp()
        async with self.db.transaction():  # the poll and its announcements, or neither
            poll_id = await self.repo.create(
                branch_id=branch_id, group_id=group_id, creator_id=actor.user_id,
                question=draft.question, labels=draft.options, multi=draft.multi,
                anonymous=draft.anonymous, hide_results=draft.hide_results,
                closes_at=None if draft.closes_at is None else int(draft.closes_at.timestamp()),
                now=now,
            )
            poll = await self.get(branch_id, poll_id)
            await self._to_other_groups(poll, group_id, self.announcement(poll), "poll_new",
                                        f"poll:{poll.id}:new")
        return poll

    async def get(self, branch_id: int, poll_id: int) -> PollRow:
        poll = await self.repo.get(poll_id, branch_id)
        if poll is None:
            raise NotFound(f"没有找到投票 #{poll_id}。")
        return poll

    async def find(self, poll_id: int, actor: Actor, branch_id: int | None) -> PollRow:
        """The poll in this branch (a group), or (a private chat) in a branch where the asker
        has an active profile; anything else is not found."""
        if branch_id is not None:
            return await self.get(branch_id, poll_id)
        poll = await self.repo.get(poll_id)
        if poll is None or not (actor.is_superuser
                                or await self.repo.is_member(poll.branch_id, actor.user_id)):
            raise NotFound(f"没有找到投票 #{poll_id}（私聊时只能找到你登记的支部的投票）。")
        return poll

    async def branches_of(self, user_id: int) -> list[int]:
        return await self.repo.branches_of(user_id)

    async def listing(self, branch_ids: list[int]) -> list[tuple[PollRow, int]]:
        """Open polls and those closed recently, with how many people voted in each."""
        since = self.clock.timestamp() - RECENT_DAYS * 86400
        polls = await self.repo.recent(branch_ids, since, self.settings.page_size)
        counts = await self.repo.voter_counts(polls)
        return [(p, counts[p.id]) for p in polls]

    def is_open(self, poll: PollRow) -> bool:
        return poll.state == "open" and (poll.closes_at is None
                                          or self.clock.timestamp() < poll.closes_at)

    # voting ------------------------------------------------------------------------------

    async def vote(self, poll_id: int, user_id: int, choices: tuple[int, ...],
                   branch_id: int | None) -> Ballot:
        """One person's ballot. In a group the poll must be this branch's; in a private chat
        the voter needs an active profile in the poll's branch."""
        if not choices:
            raise PollInputError("请写出选项号。")
        now = self.clock.timestamp()

        def check(poll: PollRow | None, member: bool) -> None:
            if poll is None or (branch_id is not None and poll.branch_id != branch_id):
                raise NotFound(f"没有找到投票 #{poll_id}。")
            if branch_id is None and not member:
                raise NotFound(f"没有找到投票 #{poll_id}（私聊时只能找到你登记的支部的投票）。")
            if poll.state != "open" or (poll.closes_at is not None and now >= poll.closes_at):
                raise DomainError(f"投票 #{poll.id} 已经结束，不能再投了。")
            if choices[-1] > poll.options:
                raise PollInputError(f"投票 #{poll.id} 只有 {poll.options} 个选项。")
            if not poll.multi and len(choices) > 1:
                raise PollInputError(f"投票 #{poll.id} 是单选，只能选 1 项。")

        record: VoteRecord = await self.repo.vote(poll_id, user_id, choices, now, check)
        if record.outcome == "received":  # the choice waits here, never in the database
            await self.waiting.received(poll_id, user_id, choices)
        return Ballot(record.poll, choices, record.outcome, record.previous)

    async def _store_batch(self, poll_id: int,
                           ballots: list[tuple[int, tuple[int, ...]]]) -> None:
        """Count a batch of anonymous ballots (inside its transaction): only totals per option
        are written, whatever order the ballots came in."""
        votes: dict[int, int] = {}
        for _, choice in ballots:
            for position in choice:
                votes[position] = votes.get(position, 0) + 1
        await self.repo.count_batch(poll_id, [uid for uid, _ in ballots], votes)

    async def _tell_lost(self, poll_id: int, voters: list[int]) -> None:
        """Tell each voter whose anonymous ballot was lost before it was counted (inside the
        transaction that forgets it)."""
        poll = await self.repo.get(poll_id)
        if poll is None:
            return
        if self.is_open(poll):
            text = (f"抱歉：机器人重启时，你在匿名投票 #{poll.id} 的选票还在等待与其他选票"
                    f"一起计入，没能保存。请重新投票：/投票 #{poll.id} <选项号>")
        else:
            text = (f"抱歉：你在匿名投票 #{poll.id} 的选票在等待与其他选票一起计入时因机器人重启"
                    "丢失了，投票已经结束，没能计入。")
        await tell_lost(self.outbox, await self.branches.groups(poll.branch_id),
                        branch_id=poll.branch_id, group_id=poll.group_id, people=voters,
                        text=text, what=f"投票 #{poll.id}")

    async def recover_lost_ballots(self) -> int:
        """At start-up: anonymous ballots that were waiting for their batch when the bot
        stopped are gone (their choices were only in memory); their voters are told, and may
        vote again while the poll is open. Returns how many."""
        return await self.waiting.recover(await self.repo.all_waiting())

    async def count_before_stopping(self) -> int:
        """At a planned stop: count what waits where it makes a whole batch."""
        return await self.waiting.commit_whole_batches()

    async def ballot_state(self, poll: PollRow, user_id: int) -> str | None:
        """Anonymous poll: ``counted``, ``waiting`` (received, its batch not full) or None."""
        return await self.repo.ballot_state(poll.id, user_id)

    async def tally(self, poll: PollRow) -> Tally:
        counts, voters, member_voters = await self.repo.counts(poll)
        members = await self.repo.active_members(poll.branch_id)
        waiting = len(await self.repo.waiting(poll.id)) if poll.anonymous else 0
        return Tally(poll, tuple(counts), voters, member_voters, members, waiting)

    async def may_see_counts(self, poll: PollRow, actor: Actor) -> bool:
        """隐藏结果: before the poll closes only admins see the counts."""
        if not poll.hide_results or not self.is_open(poll):
            return True
        return await self.branches.is_admin(poll.branch_id, actor)

    def render(self, tally: Tally, show_counts: bool = True) -> str:
        """The poll with its results (or without counts), as plain text."""
        poll = tally.poll
        lines = [f"投票 #{poll.id}「{poll.question}」（{self.describe(poll)}）"]
        width = self.settings.poll_bar_width
        for i, label in enumerate(poll.labels):
            if show_counts:
                lines.append(f"{i + 1}. {label}  {bar(tally.share(i), width)} "
                             f"{tally.counts[i]} 票 {percent(tally.share(i))}")
            else:
                lines.append(f"{i + 1}. {label}")
        lines.append(f"已投票 {tally.voters} 人；参与率 {percent(tally.turnout)}"
                     f"（登记成员 {tally.member_voters}/{tally.members} 人）")
        if tally.waiting:
            lines.append(f"另有 {tally.waiting} 张匿名选票已收到、等待计入（为保护匿名，每凑满 "
                         f"{self.waiting.batch} 张一起计入，投票结束时全部计入）。")
        if not show_counts:
            lines.append("本投票隐藏结果：截止或结束后公布。")
        return "\n".join(lines)

    def describe(self, poll: PollRow) -> str:
        if self.is_open(poll):
            state = ("进行中，截止 " + self.clock.format(poll.closes_at)
                     if poll.closes_at is not None else "进行中")
        else:
            state = "已结束"
        flags = [MULTI if poll.multi else "单选", "匿名" if poll.anonymous else "记名"]
        if poll.hide_results:
            flags.append("结果截止后公布")
        return "；".join([state, *flags])

    def announcement(self, poll: PollRow) -> str:
        lines = [f"🗳️ 投票 #{poll.id}：{poll.question}"]
        lines += [f"{i}. {label}" for i, label in enumerate(poll.labels, start=1)]
        lines.append(self.describe(poll))
        example = f"/投票 #{poll.id} 1 3" if poll.multi else f"/投票 #{poll.id} 1"
        lines.append(f"投票：/投票 #{poll.id} <选项号>" + (
            f"（可多选，如 {example}）" if poll.multi else f"（如 {example}）"))
        if poll.anonymous:
            lines.append("匿名投票：不记录谁选了什么，投出后不能改；可私聊机器人投票，群里就看不到你的选择。")
        else:
            lines.append("截止前可以重新投票，以最后一次为准。")
        return "\n".join(lines)

    # closing -----------------------------------------------------------------------------

    async def close(self, poll_id: int, actor: Actor, branch_id: int | None,
                    group_id: int | None) -> Tally:
        """结束: the creator or an admin closes the poll; the result goes to the branch's other
        groups (the asker's chat gets it as the reply)."""
        poll = await self.find(poll_id, actor, branch_id)
        if actor.user_id != poll.creator_id and not await self.branches.is_admin(
                poll.branch_id, actor):
            raise Forbidden("只有发起人、支委、书记或群管理员可以结束投票。")
        if not self.is_open(poll):
            raise DomainError(f"投票 #{poll.id} 已经结束了。")
        # closed, the last batch counted and the result queued: all or nothing
        async with self.waiting.lock, self.db.transaction():
            if not await self.repo.close(poll.id, self.clock.timestamp(), actor.user_id):
                raise DomainError(f"投票 #{poll.id} 已经结束了。")
            tally = await self._closed(poll)
            await self._to_other_groups(tally.poll, group_id, self.result_notice(tally),
                                        "poll_result", f"poll:{poll.id}:result")
        if poll.anonymous:
            await self.waiting.erase_history()
        return tally

    async def _closed(self, poll: PollRow) -> Tally:
        """The final tally of a poll just closed (an anonymous poll's waiting ballots counted
        first), after the features that wait for it (a 微典型 vote records its winner) ran,
        in the same transaction as the close."""
        if poll.anonymous:
            await self.waiting.commit_rest(poll.id)
        tally = await self.tally(await self.get(poll.branch_id, poll.id))
        for hook in self.close_hooks:
            await hook(tally)
        return tally

    def result_notice(self, tally: Tally) -> str:
        return f"🗳️ 投票 #{tally.poll.id} 已结束，结果如下：\n" + self.render(tally)

    async def close_due(self, poll_id: int, announce: bool = True) -> Tally | None:
        """At the deadline: close the poll and (``announce``) post the result to every group
        of the branch through the queue. A stray early call or a closed poll does nothing."""
        poll = await self.repo.get(poll_id)
        now = self.clock.timestamp()
        if (poll is None or poll.state != "open" or poll.closes_at is None
                or poll.closes_at > now + EARLY_TOLERANCE_SECONDS):
            return None
        async with self.waiting.lock, self.db.transaction():  # as ``close``: all or nothing
            if not await self.repo.close(poll.id, now, None):
                return None
            tally = await self._closed(poll)
            if announce:
                await self.outbox.to_branch(poll.branch_id,
                                            [text_segment(self.result_notice(tally))],
                                            "poll_result", dedupe_key=f"poll:{poll.id}:result")
        if poll.anonymous:
            await self.waiting.erase_history()
        return tally

    async def catch_up(self) -> CatchUp:
        """At start-up: a deadline passed while the bot was down closes the poll; its result is
        posted if at most ``misfire_grace_minutes`` late, else only logged (as reminders)."""
        lost = await self.recover_lost_ballots()
        grace = self.settings.misfire_grace_minutes * 60
        now = self.clock.timestamp()
        announced, quiet, pending = [], [], []
        for poll in await self.repo.open_with_deadline():
            assert poll.closes_at is not None
            if poll.closes_at > now:
                pending.append(poll)
                continue
            late = now - poll.closes_at
            if await self.close_due(poll.id, announce=late <= grace) is None:
                continue
            if late <= grace:
                announced.append(poll.id)
                log.info("poll #%s closed %ss late after downtime; result posted", poll.id, late)
            else:
                quiet.append(poll.id)
                log.warning("poll #%s deadline missed by %ss (grace %ss): closed, result not "
                            "posted", poll.id, late, grace)
        return CatchUp(announced, quiet, pending, lost)

    async def pending_deadlines(self) -> list[PollRow]:
        return await self.repo.open_with_deadline()

    # named ballots -----------------------------------------------------------------------

    async def roster(self, poll_id: int, actor: Actor,
                     branch_id: int | None) -> tuple[PollRow, list[list[str]]]:
        """名单: who chose what, for admins, of a named poll only."""
        poll = await self.find(poll_id, actor, branch_id)
        if not await self.branches.is_admin(poll.branch_id, actor):
            raise Forbidden("投票名单只有支委、书记或群管理员可以查看。")
        if poll.anonymous:
            raise DomainError(f"投票 #{poll.id} 是匿名投票：数据库里没有谁选了什么，没有名单。")
        ballots = await self.repo.ballots(poll.id)
        names = await self.branches.names(poll.branch_id, [uid for _, uid in ballots])
        chosen: list[list[str]] = [[] for _ in poll.labels]
        for position, user_id in ballots:
            chosen[position - 1].append(names.get(user_id, str(user_id)))
        return poll, chosen

    # helpers -----------------------------------------------------------------------------

    async def _to_other_groups(self, poll: PollRow, group_id: int | None, content: str,
                               kind: str, key: str) -> int:
        return await to_other_groups(self.branches, self.outbox, poll.branch_id, group_id,
                                     content, kind, key)


async def to_other_groups(branches: BranchService, outbox: OutboxService, branch_id: int,
                          group_id: int | None, content: str, kind: str, key: str) -> int:
    """Queue ``content`` to the branch's groups other than ``group_id`` (which was answered
    directly); returns how many were queued. Polls and surveys announce themselves so."""
    queued = 0
    for gid in await branches.groups(branch_id):
        if gid != group_id and await outbox.to_group(
                gid, [text_segment(content)], kind, branch_id=branch_id,
                dedupe_key=f"{key}:{gid}"):
            queued += 1
    return queued
