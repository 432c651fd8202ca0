"""微典型: each term's exemplars. A nomination window (征集); nominations (自荐 or 推荐) per
field; review (通过 / 退回, told privately); a vote per field on the poll machinery (anonymous if
asked) whose close records the winner, ties settled by the committee (确定); 公示 with 荣誉
points; stories turned into cases (案例); and the branch's public showcase page (展示页) with
its visitors counted once a day each, without keeping any address."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.checkin_code import new_token, token_shape_ok
from domain.clock import Clock
from domain.errors import DomainError, NotFound
from domain.lectures import SOMEONE, LectureService, Standing
from domain.models import Category, Term
from domain.outbox import OutboxService, at_segment, text_segment
from domain.points import PointsService
from domain.polls import PollDraft, PollService, Tally
from domain.text import optional_text, paginate, require_text
from storage.database import Database
from storage.exemplars import CallRow, CaseRow, ExemplarRepository, NominationRow, PageRow
from storage.lectures import SpeakerRow
from storage.polls import PollRow
from storage.report import ReportRepository
from storage.sessions import SessionRepository

log = logging.getLogger("zhibu.exemplars")

SELF_WORD, PEER_WORD = "自荐", "推荐"
APPROVE_WORD, RETURN_WORD = "通过", "退回"
STATE_LABELS = {"pending": "待审核", "approved": "已通过", "returned": "已退回",
                "selected": "当选"}
SHOWCASE_PATH = "/zhibu/show"  # the showcase page is SHOWCASE_PATH/<token>
SHOWCASE_ACTIVITIES = 100  # activities listed on the page, newest first
VISITOR_HEX = 32  # characters of a visitor's hash that are kept (128 bits)


def way(nomination: NominationRow) -> str:
    return SELF_WORD if nomination.self_nominated else PEER_WORD


# figures (the report and the export use these, so each is defined once) --------------------


@dataclass(frozen=True)
class FieldFigures:
    field: str
    self_nominated: int = 0
    peer_nominated: int = 0
    approved: int = 0
    selected: int = 0

    @property
    def nominations(self) -> int:
        return self.self_nominated + self.peer_nominated

    def text(self) -> str:
        return (f"推荐 {self.nominations} 人次（自荐 {self.self_nominated}，推荐 "
                f"{self.peer_nominated}），审核通过 {self.approved}，当选 {self.selected}")


@dataclass(frozen=True)
class ExemplarFigures:
    """微典型 of a term (each defined once here; the README repeats them): 推荐 = the term's
    nominations, by way (自荐: the nominee nominated themself; 推荐: someone else did), every
    one made, returned ones included (refused attempts are not nominations); 审核通过 = of
    them, those approved by review (当选 included); 当选 = those selected, by the vote or by the
    committee after a tie; all of these also per field. 典型案例 = cases recorded in the term.
    展示页浏览量 = over the days of the term, the sum of each day's distinct visitors of the
    branch's showcase page (a visitor is counted once a day however often they look)."""

    fields: tuple[FieldFigures, ...] = ()
    cases: int = 0
    views: int = 0

    @property
    def total(self) -> FieldFigures:
        return FieldFigures(
            "合计", sum(f.self_nominated for f in self.fields),
            sum(f.peer_nominated for f in self.fields), sum(f.approved for f in self.fields),
            sum(f.selected for f in self.fields))

    def rows(self) -> list[tuple[str, str]]:
        rows = [("微典型", self.total.text())]
        rows += [(f"微典型·{f.field}", f.text()) for f in self.fields if f.nominations]
        rows.append(("典型案例", f"{self.cases} 个"))
        rows.append(("展示页浏览量", f"{self.views} 人次（同一访客每天计 1 次）"))
        return rows


# the showcase page ---------------------------------------------------------------------------


class DailySalt:
    """Visitors counted without their address: a visitor is a hash of a random salt of the
    day, the address and the browser's name. The salt exists only in this object (never
    written anywhere) and is replaced by a fresh random one when the day changes, so a stored
    hash can never be tied to an address afterwards — not even by whoever holds the database
    or a backup. A restart draws a new salt, so a visitor may be counted once more that day."""

    def __init__(self) -> None:
        self._day: str | None = None
        self._salt = b""

    def visitor(self, day: str, address: str, agent: str) -> str:
        if day != self._day:
            self._day, self._salt = day, secrets.token_bytes(32)
        digest = hashlib.sha256(self._salt + address.encode() + b"\0" + agent.encode())
        return digest.hexdigest()[:VISITOR_HEX]


@dataclass(frozen=True)
class ShownExemplar:
    field: str
    name: str
    story: str


@dataclass(frozen=True)
class ShownCase:
    title: str
    author: str
    body: str
    field: str
    person: str


@dataclass(frozen=True)
class ShownLecture:
    label: str
    topic: str
    day: str
    standings: list[tuple[int | None, str, str, float | None, int]]  # rank, name, title…


@dataclass(frozen=True)
class ShownActivity:
    kind: str
    topic: str
    day: str
    participants: int


@dataclass(frozen=True)
class Showcase:
    """What the public page shows: registered names and public texts only, never a QQ
    number, a reason of a review, a score of one person or anything private."""

    branch: str
    term: str
    exemplars: list[ShownExemplar] = field(default_factory=list)
    cases: list[ShownCase] = field(default_factory=list)
    lectures: list[ShownLecture] = field(default_factory=list)
    activities: list[ShownActivity] = field(default_factory=list)
    activities_held: int = 0
    updated: str = ""


# results of commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    nomination: NominationRow
    name: str


@dataclass(frozen=True)
class VoteStart:
    opened: list[tuple[str, PollRow]]  # (field, poll)
    skipped: list[str]  # why a field got no vote


@dataclass(frozen=True)
class Publicity:
    exemplars: list[Candidate]
    pending: list[str]  # fields still voting or tied
    newly_booked: int  # exemplars whose points were booked by this 公示


class ExemplarService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, points: PointsService, polls: PollService,
                 lectures: LectureService, outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.points = points
        self.polls = polls
        self.lectures = lectures
        self.outbox = outbox
        self.repo = ExemplarRepository(db)
        self.salt = DailySalt()
        polls.close_hooks.append(self.on_poll_closed)

    def field_of(self, word: str | None) -> str:
        """A configured field, or the refusal naming them."""
        if word not in self.settings.exemplar_fields:
            raise DomainError("领域可以是：" + "、".join(self.settings.exemplar_fields) + "。")
        return word

    async def _names(self, branch_id: int, user_ids) -> dict[int, str]:
        ids = [u for u in user_ids if u is not None]
        known = await self.branches.names(branch_id, ids)
        return {u: known.get(u, SOMEONE) for u in ids}

    async def get(self, branch_id: int, nomination_id: int) -> NominationRow:
        found = await self.repo.nomination(nomination_id, branch_id)
        if found is None:
            raise NotFound(f"没有找到推荐 #{nomination_id}。")
        return found

    # the nomination window ---------------------------------------------------------------

    async def open_call(self, branch_id: int, group_id: int | None, actor: Actor,
                        closes: datetime) -> tuple[CallRow, Term]:
        """征集: nominations are taken from now until ``closes`` (this term)."""
        await self.branches.require_admin(branch_id, actor)
        now = self.clock.timestamp()
        if closes.timestamp() <= now:
            raise DomainError("截止时间已经过去了，请换一个将来的时间。")
        term = await self.branches.current_term(branch_id)
        async with self.db.transaction():
            await self.repo.open_call(branch_id, term.id, now, int(closes.timestamp()),
                                      actor.user_id)
            call = await self.repo.current_call(branch_id, term.id)
            assert call is not None
            notice = self.call_notice(call, term)
            for gid in await self.branches.groups(branch_id):
                if gid != group_id:
                    await self.outbox.to_group(gid, [text_segment(notice)], "exemplar_call",
                                               branch_id=branch_id,
                                               dedupe_key=f"exemplar:call:{call.id}:{gid}")
        return call, term

    def call_notice(self, call: CallRow, term: Term) -> str:
        return (f"🌟 {term.name}微典型征集开始，截止 {self.clock.format(call.closes_at)}。\n"
                f"领域：{'、'.join(self.settings.exemplar_fields)}\n"
                "自荐：/典型 自荐 <领域> <事迹>\n推荐：/典型 推荐 @某人 <领域> <事迹>\n"
                "每人每个领域每学期一次，审核通过后参加评选。")

    # nominating --------------------------------------------------------------------------

    async def nominate(self, branch_id: int, nominator_id: int, nominee_id: int,
                       field_word: str | None, story: str) -> NominationRow:
        """自荐 (nominee = nominator) or 推荐, during the window; one per person, field, term."""
        found_field = self.field_of(field_word)
        if await self.branches.member(branch_id, nominator_id) is None:
            raise DomainError("请先发送 /登记 <姓名> [楼层] [宿舍] 建立档案，再推荐或自荐。")
        nominee = await self.branches.member(branch_id, nominee_id)
        if nominee is None:
            raise DomainError(f"{nominee_id} 不是本支部登记的成员，不能被推荐。")
        story = require_text(story, self.settings.exemplar_story_max_length, "事迹")
        term = await self.branches.current_term(branch_id)
        call = await self.repo.current_call(branch_id, term.id)
        now = self.clock.timestamp()
        if call is None:
            raise DomainError("本学期还没有开始微典型征集"
                              "（管理员发送 /典型 征集 <截止时间> 开始）。")
        if not call.opens_at <= now < call.closes_at:
            raise DomainError(f"本学期的微典型征集已于 {self.clock.format(call.closes_at)} 截止，"
                              "现在不能推荐或自荐。")
        if any(v.field == found_field for v in await self.repo.votes(branch_id, term.id)):
            raise DomainError(f"{found_field}已经开始评选，不能再推荐。")
        async with self.db.transaction():
            nomination_id = await self.repo.add_nomination(
                branch_id=branch_id, term_id=term.id, field=found_field, nominee_id=nominee_id,
                nominator_id=nominator_id, story=story, now=now)
        if nomination_id is None:
            who = "你" if nominee_id == nominator_id else nominee.name
            raise DomainError(f"{who}本学期已经有{found_field}的推荐了"
                              "（每人每个领域每学期一次），这次没有记录。")
        return await self.get(branch_id, nomination_id)

    # review ------------------------------------------------------------------------------

    async def review(self, branch_id: int, actor: Actor, nomination_id: int, approve: bool,
                     note: str | None) -> NominationRow:
        """通过 or 退回 (with a reason); the nominee and the nominator are told privately, in
        the same transaction."""
        await self.branches.require_admin(branch_id, actor)
        nomination = await self.get(branch_id, nomination_id)
        if nomination.state != "pending":
            raise DomainError(f"推荐 #{nomination.id} 已经{STATE_LABELS[nomination.state]}，"
                              "不用再审核。")
        if approve:
            note = optional_text(note, self.settings.reason_max_length, "审核意见")
        else:
            note = require_text(note, self.settings.reason_max_length, "退回原因")
        names = await self._names(branch_id, [nomination.nominee_id])
        groups = await self.branches.groups(branch_id)
        via = actor.group_id if actor.group_id in groups else (groups[0] if groups else None)
        async with self.db.transaction():
            if not await self.repo.review(nomination.id, "approved" if approve else "returned",
                                          actor.user_id, self.clock.timestamp(), note):
                raise DomainError(f"推荐 #{nomination.id} 刚刚已被审核。")
            for user_id in dict.fromkeys((nomination.nominee_id, nomination.nominator_id)):
                text = self.review_notice(nomination, approve, note, user_id,
                                          names[nomination.nominee_id])
                await self.outbox.to_user(
                    user_id, [text_segment(text)], "exemplar_review", via_group_id=via,
                    branch_id=branch_id, dedupe_key=f"exemplar:{nomination.id}:review:{user_id}",
                    fallback=[text_segment("微典型审核："), at_segment(user_id),
                              text_segment(" 你的推荐有了审核结果，请加我为好友后发送 "
                                           "/典型 我的 查看。")])
        return await self.get(branch_id, nomination.id)

    def review_notice(self, nomination: NominationRow, approve: bool, note: str | None,
                      user_id: int, nominee: str) -> str:
        what = (f"你自荐的{nomination.field}微典型" if nomination.self_nominated
                else f"你被推荐的{nomination.field}微典型" if user_id == nomination.nominee_id
                else f"你推荐 {nominee} 的{nomination.field}微典型")
        if approve:
            extra = f"（{note}）" if note else ""
            return f"{what}（推荐 #{nomination.id}）已通过审核{extra}，将参加评选。"
        return (f"{what}（推荐 #{nomination.id}）被退回：{note}。"
                "征集期内可以修改事迹后重新推荐。")

    # the vote ----------------------------------------------------------------------------

    async def start_votes(self, branch_id: int, group_id: int | None, actor: Actor,
                          field_word: str | None, closes: datetime | None,
                          anonymous: bool) -> VoteStart:
        """评选: a poll per field among its approved nominees (one field, or every field that
        is ready). A field with one candidate gets no vote: the committee decides (确定)."""
        await self.branches.require_admin(branch_id, actor)
        fields = [self.field_of(field_word)] if field_word else self.settings.exemplar_fields
        if closes is not None and closes.timestamp() <= self.clock.timestamp():
            raise DomainError("截止时间已经过去了，请换一个将来的时间。")
        term = await self.branches.current_term(branch_id)
        voted = {v.field for v in await self.repo.votes(branch_id, term.id)}
        opened: list[tuple[str, PollRow]] = []
        skipped: list[str] = []
        async with self.db.transaction():
            for name in fields:
                nominations = await self.repo.nominations(branch_id, term.id, name)
                approved = [n for n in nominations if n.state == "approved"]
                pending = sum(n.state == "pending" for n in nominations)
                why = None
                if name in voted:
                    why = f"{name}已经评选过了"
                elif any(n.state == "selected" for n in nominations):
                    why = f"{name}已经确定了微典型"
                elif pending:
                    why = f"{name}还有 {pending} 个推荐待审核（/典型 审核）"
                elif not approved:
                    why = f"{name}没有通过审核的候选人"
                elif len(approved) == 1:
                    names = await self._names(branch_id, [approved[0].nominee_id])
                    why = (f"{name}只有 1 位候选人 {names[approved[0].nominee_id]}，不用投票，"
                           f"请支委发送 /典型 确定 #{approved[0].id} 确定")
                elif len(approved) > self.settings.poll_max_options:
                    why = (f"{name}有 {len(approved)} 位候选人，超过投票的 "
                           f"{self.settings.poll_max_options} 个选项")
                if why is not None:
                    if field_word or name in voted or approved or pending:
                        skipped.append(why)
                    continue
                poll = await self._open_vote(branch_id, group_id, actor, term, name, approved,
                                             closes, anonymous)
                opened.append((name, poll))
        if field_word and not opened:
            raise DomainError(skipped[0] + "。")
        if not opened and not skipped:
            raise DomainError("本学期还没有通过审核的推荐，先 /典型 征集 并 /典型 审核。")
        return VoteStart(opened, skipped)

    async def _open_vote(self, branch_id: int, group_id: int | None, actor: Actor, term: Term,
                         name: str, approved: list[NominationRow], closes: datetime | None,
                         anonymous: bool) -> PollRow:
        names = await self._names(branch_id, [n.nominee_id for n in approved])
        limit = self.settings.poll_option_max_length
        labels = []
        for n in approved:
            label = f"{names[n.nominee_id]} #{n.id}"
            labels.append(label if len(label) <= limit else f"#{n.id}")
        question = f"{name}微典型评选"[:self.settings.poll_question_max_length]
        poll = await self.polls.open_poll(branch_id, group_id, actor, PollDraft(
            question, labels, anonymous=anonymous, closes_at=closes))
        await self.repo.add_vote(poll.id, branch_id, term.id, name, [n.id for n in approved])
        return poll

    async def on_poll_closed(self, tally: Tally) -> None:
        """A field's poll closed (by its deadline or /投票 结束): record the winner, or a tie
        for the committee; told to the branch's groups in the same transaction."""
        vote = await self.repo.vote(tally.poll.id)
        if vote is None or vote.state != "open":
            return
        options = await self.repo.vote_options(vote.poll_id)
        counts = list(tally.counts)
        top = max(counts)
        leaders = [nid for (_, nid, _), n in zip(options, counts, strict=True) if n == top]
        now = self.clock.timestamp()
        nominations = {nid: await self.repo.nomination(nid) for nid in leaders}
        names = await self._names(vote.branch_id,
                                  [n.nominee_id for n in nominations.values() if n])
        if len(leaders) == 1 and top > 0 and await self.repo.select(leaders[0], None, now):
            await self.repo.finish_vote(vote.poll_id, "decided", now, counts)
            winner = nominations[leaders[0]]
            text = (f"🏅 {vote.field}微典型评选结束：{names[winner.nominee_id]} 当选"
                    f"（{top} 票）。管理员发送 /典型 公示 后公布。")
        else:
            await self.repo.finish_vote(vote.poll_id, "tied", now, counts)
            tied = "、".join(f"#{nid} {names[n.nominee_id]}" for nid, n in nominations.items()
                            if n)
            text = (f"⚖️ {vote.field}微典型评选平票（各 {top} 票）：{tied}。"
                    "请支委发送 /典型 确定 <编号> 确定当选人。")
        await self.outbox.to_branch(vote.branch_id, [text_segment(text)], "exemplar_vote",
                                    dedupe_key=f"exemplar:vote:{vote.poll_id}")

    async def settle(self, branch_id: int, actor: Actor, nomination_id: int) -> NominationRow:
        """确定: the committee picks the exemplar of a field whose vote tied, or of a field
        with a single approved candidate."""
        await self.branches.require_admin(branch_id, actor)
        nomination = await self.get(branch_id, nomination_id)
        name = nomination.field
        if nomination.state == "selected":
            raise DomainError(f"推荐 #{nomination.id} 已经当选了。")
        if nomination.state != "approved":
            raise DomainError(f"推荐 #{nomination.id} {STATE_LABELS[nomination.state]}，"
                              "不是候选人。")
        votes = [v for v in await self.repo.votes(branch_id, nomination.term_id)
                 if v.field == name]
        vote = votes[-1] if votes else None
        if vote is None:
            approved = [n for n in await self.repo.nominations(branch_id, nomination.term_id,
                                                                name) if n.state == "approved"]
            if len(approved) != 1:
                raise DomainError(f"{name}有 {len(approved)} 位候选人，请先投票："
                                  f"/典型 评选 {name}。")
        elif vote.state == "open":
            raise DomainError(f"{name}还在投票（投票 #{vote.poll_id}），结束后再确定。")
        elif vote.state != "tied":
            raise DomainError(f"{name}已经选出微典型了。")
        else:
            options = await self.repo.vote_options(vote.poll_id)
            top = max(v or 0 for _, _, v in options)
            tied = [nid for _, nid, v in options if (v or 0) == top]
            if nomination.id not in tied:
                raise DomainError(f"推荐 #{nomination.id} 不在平票的候选人中（"
                                  + "、".join(f"#{n}" for n in tied) + "）。")
        async with self.db.transaction():
            if not await self.repo.select(nomination.id, actor.user_id, self.clock.timestamp()):
                raise DomainError(f"推荐 #{nomination.id} 刚刚有了变化，请重新查看。")
            if vote is not None:
                await self.repo.settle_vote(vote.poll_id)
        return await self.get(branch_id, nomination.id)

    # 公示 ------------------------------------------------------------------------------------

    async def publicise(self, branch_id: int, actor: Actor) -> Publicity:
        """Post the term's exemplars and their stories to every group; each earns
        ``points_exemplar`` (荣誉) once, booked in the same transaction."""
        await self.branches.require_admin(branch_id, actor)
        term = await self.branches.current_term(branch_id)
        nominations = await self.repo.nominations(branch_id, term.id)
        selected = [n for n in nominations if n.state == "selected"]
        pending = [f"{v.field}（{'投票中' if v.state == 'open' else '平票待确定'}）"
                   for v in await self.repo.votes(branch_id, term.id)
                   if v.state in ("open", "tied")]
        if not selected:
            raise DomainError("本学期还没有当选的微典型" + (
                "：" + "、".join(pending) if pending else "。先 /典型 评选。"))
        order = {f: i for i, f in enumerate(self.settings.exemplar_fields)}
        selected.sort(key=lambda n: (order.get(n.field, len(order)), n.id))
        names = await self._names(branch_id, [n.nominee_id for n in selected])
        points = self.settings.points_exemplar
        lines = [f"📣 {term.name}微典型公示："]
        lines += [f"【{n.field}】{names[n.nominee_id]}：{n.story}" for n in selected]
        if points:
            lines.append(f"每位微典型获得 {points} 积分（荣誉）。向榜样学习！")
        booked = 0
        async with self.db.transaction():
            for n in selected:
                if points and await self.points.book(
                        branch_id, n.nominee_id, Category.HONOUR, points,
                        f"{term.name}{n.field}微典型", ref=f"exemplar:{n.id}"):
                    booked += 1
            await self.repo.mark_announced([n.id for n in selected], self.clock.timestamp())
            for page in paginate(lines, self.settings.reply_max_chars):
                await self.outbox.to_branch(branch_id, [text_segment(page)],
                                            "exemplar_publicity")
        return Publicity([Candidate(n, names[n.nominee_id]) for n in selected], pending, booked)

    # cases -------------------------------------------------------------------------------

    async def add_case(self, branch_id: int, actor: Actor, nomination_id: int, title: str,
                       body: str | None, author_id: int | None) -> CaseRow:
        """案例: a reviewed story becomes a case (title, text — the story by default — and
        author — the nominator by default), once per story."""
        await self.branches.require_admin(branch_id, actor)
        nomination = await self.get(branch_id, nomination_id)
        if nomination.state not in ("approved", "selected"):
            raise DomainError(f"推荐 #{nomination.id} {STATE_LABELS[nomination.state]}，"
                              "只有通过审核的事迹可以整理为案例。")
        title = require_text(title, self.settings.title_max_length, "案例标题")
        body = require_text(body or nomination.story, self.settings.exemplar_case_max_length,
                            "案例正文")
        author = nomination.nominator_id if author_id is None else author_id
        if await self.branches.member(branch_id, author) is None:
            raise DomainError(f"作者 {author} 不是本支部登记的成员。")
        async with self.db.transaction():
            case_id = await self.repo.add_case(
                branch_id=branch_id, nomination_id=nomination.id, title=title, body=body,
                author_id=author, by=actor.user_id, now=self.clock.timestamp())
        if case_id is None:
            raise DomainError(f"推荐 #{nomination.id} 的事迹已经整理成案例了。")
        found = await self.repo.case(case_id)
        assert found is not None
        return found

    async def cases(self, branch_id: int) -> tuple[list[CaseRow], dict[int, str]]:
        found = await self.repo.cases(branch_id)
        names = await self._names(branch_id, [u for c in found
                                             for u in (c.author_id, c.nominee_id)])
        return found, names

    # reading -----------------------------------------------------------------------------

    async def listing(self, branch_id: int, field_word: str | None
                      ) -> tuple[Term, list[NominationRow], dict[int, str], dict[int, int]]:
        """The term's nominations (of a field), with names and the votes each got."""
        chosen = self.field_of(field_word) if field_word else None
        term = await self.branches.current_term(branch_id)
        found = await self.repo.nominations(branch_id, term.id, chosen)
        names = await self._names(branch_id, [n.nominee_id for n in found])
        votes = await self.repo.votes_of([n.id for n in found])
        return term, found, names, votes

    async def current_call(self, branch_id: int) -> CallRow | None:
        term = await self.branches.current_term(branch_id)
        return await self.repo.current_call(branch_id, term.id)

    async def mine(self, user_id: int, branch_ids: list[int]
                   ) -> tuple[list[NominationRow], dict[tuple[int, int], str]]:
        """Nominations of or by the person, newest first, with names per (branch, person)."""
        found = await self.repo.of_person(branch_ids, user_id, self.settings.page_size)
        names: dict[tuple[int, int], str] = {}
        for branch_id in {n.branch_id for n in found}:
            people = [u for n in found if n.branch_id == branch_id
                      for u in (n.nominee_id, n.nominator_id)]
            for uid, name in (await self._names(branch_id, people)).items():
                names[(branch_id, uid)] = name
        return found, names

    # the report and the export -----------------------------------------------------------

    async def figures(self, branch_id: int, term: Term, since: int,
                      until: int) -> ExemplarFigures:
        counts = {r["field"]: r for r in await self.repo.field_counts(branch_id, term.id)}
        names = list(self.settings.exemplar_fields)
        names += sorted(set(counts) - set(names))  # a field no longer configured
        fields = tuple(
            FieldFigures(f, counts[f]["self_nominated"], counts[f]["peer_nominated"],
                         counts[f]["approved"], counts[f]["selected"]) if f in counts
            else FieldFigures(f) for f in names)
        cases = len(await self.repo.cases(branch_id, since, until))
        views = sum(n for _, n in await self.repo.views_by_day(branch_id, since, until))
        return ExemplarFigures(fields, cases, views)

    async def sheets(self, branch_id: int, term: Term, since: int, until: int
                     ) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        """The export's 微典型 sheet (a row per nomination of the term), 典型案例 sheet (the
        cases recorded in the term) and 展示页浏览 sheet (visitors per day)."""
        nominations = await self.repo.nominations(branch_id, term.id)
        votes = await self.repo.votes_of([n.id for n in nominations])
        cases = await self.repo.cases(branch_id, since, until)
        names = await self._names(branch_id, [u for n in nominations
                                             for u in (n.nominee_id, n.nominator_id)]
                                  + [u for c in cases for u in (c.author_id, c.nominee_id)])
        fmt = "%Y-%m-%d %H:%M"

        def when(ts: int | None) -> str | None:
            return None if ts is None else self.clock.format(ts, fmt)

        rows = [(n.id, n.field, way(n), n.nominee_id, names[n.nominee_id], n.nominator_id,
                 names[n.nominator_id], n.story, STATE_LABELS[n.state], n.review_note,
                 votes.get(n.id), None if n.state != "selected"
                 else "投票" if n.selected_by is None else "支委确定",
                 when(n.created_at), when(n.announced_at)) for n in nominations]
        case_rows = [(c.id, c.title, names[c.author_id], c.field, names[c.nominee_id],
                      c.nomination_id, c.body, when(c.created_at)) for c in reversed(cases)]
        views = await self.repo.views_by_day(branch_id, since, until)
        return [
            ("微典型", ("编号", "领域", "方式", "候选人QQ", "候选人", "推荐人QQ", "推荐人", "事迹",
                     "状态", "审核意见", "得票", "当选方式", "推荐时间", "公示时间"), rows),
            ("典型案例", ("编号", "标题", "作者", "领域", "人物", "来源推荐", "正文", "时间"),
             case_rows),
            ("展示页浏览", ("日期", "访客数"), list(views)),
        ]

    # the showcase page -------------------------------------------------------------------

    async def page_link(self, branch_id: int, actor: Actor) -> tuple[PageRow, bool]:
        """The branch's page (made the first time): the same link every time it is asked,
        until it is closed. Returns it and whether it was made now."""
        await self.branches.require_admin(branch_id, actor)
        async with self.db.transaction():
            page = await self.repo.open_page(branch_id)
            if page is not None:
                return page, False
            await self.repo.add_page(branch_id, new_token(), actor.user_id,
                                     self.clock.timestamp())
            page = await self.repo.open_page(branch_id)
        assert page is not None
        return page, True

    async def close_page(self, branch_id: int, actor: Actor) -> int:
        """关闭: the branch's link shows nothing from now on (a new one can be made later)."""
        await self.branches.require_admin(branch_id, actor)
        async with self.db.transaction():
            closed = await self.repo.close_pages(branch_id, actor.user_id,
                                                 self.clock.timestamp())
        if not closed:
            raise DomainError("本支部没有开放的展示页。")
        return closed

    async def view(self, token: str, address: str, agent: str) -> Showcase | None:
        """The page behind ``token`` (None: unknown or closed, show nothing); the visit is
        counted once per visitor and day."""
        page = await self.repo.page_by_token(token) if token_shape_ok(token) else None
        if page is None or page.closed_at is not None:
            return None
        now = self.clock.timestamp()
        day = self.clock.now().strftime("%Y-%m-%d")
        async with self.db.transaction():
            await self.repo.add_view(page.id, day, self.salt.visitor(day, address, agent), now)
        return await self.showcase(page.branch_id)

    async def showcase(self, branch_id: int) -> Showcase:
        """The public content of a branch: this term's exemplars (publicised), the branch's
        cases, this term's closed 微党课 rankings and activities held with their check-ins."""
        branch = await self.branches.get_branch(branch_id)
        term = await self.branches.current_term(branch_id)
        now = self.clock.timestamp()
        order = {f: i for i, f in enumerate(self.settings.exemplar_fields)}
        shown = sorted((n for n in await self.repo.nominations(branch_id, term.id)
                        if n.state == "selected" and n.announced_at is not None),
                       key=lambda n: (order.get(n.field, len(order)), n.id))
        cases = await self.repo.cases(branch_id)
        names = await self._names(branch_id, [n.nominee_id for n in shown]
                                  + [u for c in cases for u in (c.author_id, c.nominee_id)])
        day = "%Y-%m-%d"
        lectures = []
        for lecture, table, speaker_names in await self.lectures.rankings(
                branch_id, term.started_at, now + 1):
            lectures.append(ShownLecture(
                lecture.activity.label, lecture.activity.topic,
                self.clock.format(lecture.activity.starts_at, day),
                [_shown_standing(s, speaker_names) for s in table]))
        held = await ReportRepository(self.db).held_sessions(branch_id, term.started_at,
                                                             now + 1, None)
        recent = held[::-1][:SHOWCASE_ACTIVITIES]
        counts = await SessionRepository(self.db).checkin_counts([a["id"] for a in recent])
        return Showcase(
            branch=branch.name, term=term.name,
            exemplars=[ShownExemplar(n.field, names[n.nominee_id], n.story) for n in shown],
            cases=[ShownCase(c.title, names[c.author_id], c.body, c.field, names[c.nominee_id])
                   for c in cases],
            lectures=lectures,
            activities=[ShownActivity(a["kind"], a["topic"],
                                      self.clock.format(a["starts_at"], day),
                                      counts.get(a["id"], 0)) for a in recent],
            activities_held=len(held), updated=self.clock.format(now, "%Y-%m-%d %H:%M"))


def _shown_standing(s: Standing[SpeakerRow], names: dict[int, str]
                    ) -> tuple[int | None, str, str, float | None, int]:
    return s.rank, names[s.item.user_id], s.item.title, s.mean, s.count
