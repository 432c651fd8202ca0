"""问卷 surveys: short question lists (1–5 scale, choice, short text) answered step by step in a
private chat; the 满意度 template; surveys tied to a session or a wish, whose participants are
invited privately; anonymous responses that the database cannot link to a person."""

from __future__ import annotations

import logging
import re
import secrets
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from config import BranchConfig
from domain.anonymity import WaitingBallots, tell_lost
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import WishState
from domain.outbox import OutboxService, at_segment, text_segment
from domain.polls import to_other_groups
from domain.sessions import SessionService
from domain.text import require_text
from domain.wishes import WishService
from storage.database import Database
from storage.surveys import Question, Response, SurveyRepository, SurveyRow

log = logging.getLogger("zhibu.surveys")

SATISFACTION = "satisfaction"
SATISFACTION_WORD = "满意度"
KIND_WORDS = {"评分": "scale", "打分": "scale", "选择": "choice", "单选": "choice",
              "填空": "text", "简答": "text"}
KIND_LABELS = {"scale": "评分", "choice": "选择", "text": "填空"}
SCALE = (1, 5)
SATISFIED_FROM = 4  # scores of 4 and 5 count as satisfied
OPTIONAL_WORD, SKIP_WORD, CANCEL_WORD, ANONYMOUS_WORD = "选填", "跳过", "取消", "匿名"
LINK_WORDS = {"导学": "session", "活动": "session", "心愿": "wish"}
RECENT_DAYS = 7
TEXTS_SHOWN = 5  # short-text answers quoted in the results

TEMPLATE = (
    Question(1, "scale", "总体满意度（1 很不满意，5 很满意）", satisfaction=True),
    Question(2, "scale", "内容或服务对你有帮助吗（1 没有帮助，5 很有帮助）"),
    Question(3, "text", "还有什么意见和建议？", optional=True),
)

_NUMBERING = re.compile(r"^\s*[0-9]{1,2}\s*[.、)）]\s*")
_OPTIONAL = re.compile(r"(?:^|\s)[（(]?选填[）)]?\s*$")
_LINK = re.compile(r"(?:^|\s)关联\s*(导学|活动|心愿)\s*[#＃]?\s*([0-9]{1,9})(?=\s|$)")
_TRAILING_ANONYMOUS = re.compile(r"(?:^|\s)匿名\s*$")
_CHOICE_SPLIT = re.compile(r"[|｜]")


class SurveyInputError(DomainError):
    """The survey as typed cannot be used; the plugin answers with the usage line too."""


# figures (the report uses these, so each is defined once) ----------------------------------


def scale_value(answer: str) -> int | None:
    """A 1–5 score as typed (``4``, ``4分``, full-width digits already folded); None if not."""
    digits = answer.removesuffix("分").strip()
    if digits.isascii() and digits.isdigit() and SCALE[0] <= int(digits) <= SCALE[1]:
        return int(digits)
    return None


def satisfaction_mean(scores: Sequence[int]) -> float | None:
    """The mean of 1–5 scores; None without any."""
    return statistics.fmean(scores) if scores else None


def satisfied_share(scores: Sequence[int]) -> float | None:
    """The share of 1–5 scores that are 4 or 5; None without any."""
    return sum(s >= SATISFIED_FROM for s in scores) / len(scores) if scores else None


def response_rate(answered: int, invited: int) -> float | None:
    """回收率: people reached who answered / people reached."""
    return None if not invited else answered / invited


async def invitees(repo: SurveyRepository, survey: SurveyRow) -> list[int]:
    """Who is asked (and may answer): a session's check-ins, a wish's wisher, else the
    branch's active profiles."""
    if survey.link_kind == "session":
        return await repo.session_participants(survey.link_id)
    if survey.link_kind == "wish":
        wisher = await repo.wisher_of(survey.link_id)
        return [] if wisher is None else [wisher]
    return await repo.active_members(survey.branch_id)


async def response_figures(repo: SurveyRepository, survey: SurveyRow) -> tuple[int, int]:
    """(people reached who answered, people reached) of one survey. Reached: those sent an
    invitation (recorded as it was queued: privately, or an @-mention in a group when a
    private message cannot be delivered), and anyone who answered without one."""
    answered = set(await repo.respondents(survey))
    reached = set(await repo.invited(survey.id)) | answered
    return len(answered), len(reached)


# parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyDraft:
    title: str
    questions: list[Question]
    anonymous: bool = False
    template: str | None = None
    link: tuple[str, str, int] | None = None  # (kind, word as typed, id)


def parse_survey(text: str, settings: BranchConfig) -> SurveyDraft:
    """First line: ``<标题>|满意度 [关联 导学#N|活动#N|心愿#N] [匿名]``; then a question per line:
    ``评分 <题目>``, ``选择 <题目> | 选项1 | 选项2 …``, ``填空 <题目>``, each with ``选填`` at
    the end if it may be skipped."""
    lines = [line.strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise SurveyInputError("请写出问卷标题，下面每行一道题。")
    head = lines[0]
    link = None
    if (match := _LINK.search(head)) is not None:
        link = (LINK_WORDS[match.group(1)], match.group(1), int(match.group(2)))
        head = (head[:match.start()] + " " + head[match.end():]).strip()
    anonymous = False
    while (match := _TRAILING_ANONYMOUS.search(head)) is not None:
        anonymous = True
        head = head[:match.start()].strip()
    template = SATISFACTION if head == SATISFACTION_WORD else None
    title = require_text("满意度调查" if template else head,
                         settings.survey_text_max_length, "问卷标题")
    questions = list(TEMPLATE) if template else []
    for number, line in enumerate(lines[1:], start=2):
        questions.append(parse_question(line, len(questions) + 1, number, settings))
    if not questions:
        raise SurveyInputError("问卷至少要有一道题：标题下面每行写一道题，"
                               "例如“评分 本次活动的收获”。")
    if len(questions) > settings.survey_max_questions:
        raise SurveyInputError(f"问卷最多 {settings.survey_max_questions} 道题，"
                               f"现在 {len(questions)} 道。")
    return SurveyDraft(title, questions, anonymous, template, link)


def parse_question(line: str, position: int, line_no: int, settings: BranchConfig) -> Question:
    where = f"第 {line_no} 行"
    body = _NUMBERING.sub("", line).strip()
    optional = False
    if (match := _OPTIONAL.search(body)) is not None:
        optional = True
        body = body[:match.start()].strip()
    word, _, rest = body.partition(" ")
    kind = KIND_WORDS.get(word)
    if kind is None:
        raise SurveyInputError(f"{where}要以题型开头：评分、选择或填空，例如“评分 {body[:20]}”。")
    choices: tuple[str, ...] = ()
    if kind == "choice":
        parts = [p.strip() for p in _CHOICE_SPLIT.split(rest)]
        rest, choices = parts[0], tuple(p for p in parts[1:] if p)
        most = settings.poll_max_options
        if not 2 <= len(choices) <= most:
            raise SurveyInputError(f"{where}：选择题需要 2 到 {most} 个选项（用 | 分隔），"
                                   f"现在 {len(choices)} 个。")
        for i, choice in enumerate(choices, start=1):
            require_text(choice, settings.poll_option_max_length, f"{where}的选项 {i}")
    prompt = require_text(rest, settings.survey_text_max_length, f"{where}的题目")
    return Question(position, kind, prompt, choices, optional)


# answering step by step ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one message did: ``ask`` (next question), ``retry`` (invalid, same question),
    ``cancelled``, ``done`` (all answered: submit now) or ``expired``."""

    kind: str
    reply: str

    @property
    def goes_on(self) -> bool:
        return self.kind in ("ask", "retry")


class AnswerSheet:
    """One person answering one survey: asks each question in turn, validates, allows 跳过 for
    optional questions and 取消; times out ``timeout`` seconds after the last answer."""

    def __init__(self, survey: SurveyRow, user_id: int, now: float, timeout: int,
                 max_length: int) -> None:
        self.survey = survey
        self.user_id = user_id
        self.timeout = timeout
        self.max_length = max_length
        self.values: list[str | None] = []
        self.expires_at = now + timeout

    @property
    def question(self) -> Question:
        return self.survey.questions[len(self.values)]

    def intro(self) -> str:
        survey = self.survey
        note = ("匿名问卷：你的回答与你的身份分开保存，无法对应到你。" if survey.anonymous
                else "记名问卷：管理员能看到你的回答。")
        return (f"问卷 #{survey.id}「{survey.title}」共 {len(survey.questions)} 题。{note}\n"
                f"直接回复答案即可；发送“{CANCEL_WORD}”放弃，选填题可发送“{SKIP_WORD}”。\n"
                + self.prompt())

    def prompt(self) -> str:
        q = self.question
        total = len(self.survey.questions)
        if q.kind == "scale":
            how = "回复 1-5 的数字"
        elif q.kind == "choice":
            how = "回复选项号"
        else:
            how = f"{self.max_length} 字以内"
        optional = f"，选填，可回复“{SKIP_WORD}”" if q.optional else ""
        lines = [f"第 {q.position}/{total} 题（{KIND_LABELS[q.kind]}，{how}{optional}）："
                 f"{q.prompt}"]
        lines += [f"{i}. {choice}" for i, choice in enumerate(q.choices, start=1)]
        return "\n".join(lines)

    def timeout_notice(self) -> str:
        minutes = self.timeout // 60
        return (f"问卷 #{self.survey.id} 的填写已超时（{minutes} 分钟没有回复），"
                "刚才的回答没有保存。"
                f"需要时请重新发送 /问卷 填写 #{self.survey.id}。")

    def feed(self, content: str, now: float) -> Step:
        if now > self.expires_at:
            return Step("expired", self.timeout_notice())
        typed = (content or "").strip()  # a text answer is kept as typed (full-width ，。！)
        answer = unicodedata.normalize("NFKC", typed)  # numbers and words matched folded
        if answer == CANCEL_WORD:
            return Step("cancelled", f"已取消问卷 #{self.survey.id} 的填写，没有保存任何回答。")
        q = self.question
        if answer == SKIP_WORD:
            if not q.optional:
                return Step("retry", f"第 {q.position} 题是必答题，不能跳过。\n" + self.prompt())
            value = None
        else:
            value, problem = self._validate(q, typed if q.kind == "text" else answer)
            if problem:
                return Step("retry", problem)
        self.values.append(value)
        self.expires_at = now + self.timeout
        if len(self.values) == len(self.survey.questions):
            return Step("done", "")
        return Step("ask", self.prompt())

    def _validate(self, q: Question, answer: str) -> tuple[str | None, str | None]:
        if not answer:
            return None, "请用文字回复。\n" + self.prompt()
        if q.kind == "scale":
            score = scale_value(answer)
            if score is not None:
                return str(score), None
            return None, "请回复 1 到 5 的数字（5 最高）。"
        if q.kind == "choice":
            if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(q.choices):
                return answer.lstrip("0"), None
            if answer in q.choices:
                return str(q.choices.index(answer) + 1), None
            return None, f"请回复选项号 1 到 {len(q.choices)}。"
        if len(answer) > self.max_length:
            return None, f"回答最多 {self.max_length} 字，现在 {len(answer)} 字，请精简后再发。"
        return answer, None


# results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSummary:
    question: Question
    answered: int
    scores: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()  # per choice
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveyResults:
    survey: SurveyRow
    responses: int
    answered: int  # invited people who answered
    invited: int
    summaries: list[QuestionSummary] = field(default_factory=list)
    waiting: int = 0  # anonymous: responses received, not stored yet (their batch is not full)


def summarise(survey: SurveyRow, responses: list[Response]) -> list[QuestionSummary]:
    found = []
    for i, q in enumerate(survey.questions):
        values = [r.values[i] for r in responses if r.values[i] is not None]
        if q.kind == "scale":
            found.append(QuestionSummary(q, len(values), scores=tuple(int(v) for v in values)))
        elif q.kind == "choice":
            counts = [0] * len(q.choices)
            for v in values:
                counts[int(v) - 1] += 1
            found.append(QuestionSummary(q, len(values), counts=tuple(counts)))
        else:
            found.append(QuestionSummary(q, len(values), texts=tuple(values)))
    return found


def display_value(q: Question, value: str | None) -> str | int | None:
    """An answer as shown: a score as a number, a choice as its option text."""
    if value is None:
        return None
    if q.kind == "scale":
        return int(value)
    if q.kind == "choice":
        return q.choices[int(value) - 1]
    return value


class SurveyService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, outbox: OutboxService, sessions: SessionService,
                 wishes: WishService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.outbox = outbox
        self.sessions = sessions
        self.wishes = wishes
        self.repo = SurveyRepository(db)
        self.waiting: WaitingBallots[list[str | None]] = WaitingBallots(
            db, settings.anonymous_batch, what="survey", waiting=self.repo.waiting,
            store=self._store_batch, drop=self.repo.drop_waiting, tell_lost=self._tell_lost)

    # creating ----------------------------------------------------------------------------

    async def create(self, branch_id: int, group_id: int | None, actor: Actor,
                     text: str) -> tuple[SurveyRow, int]:
        """A survey from its text; returns it and how many invitations were queued now."""
        await self.branches.require_admin(branch_id, actor)
        draft = parse_survey(text, self.settings)
        now = self.clock.timestamp()
        # a survey of the branch asks its active profiles, invited at once
        title, invite_at, kind, link_id = draft.title, now, None, None
        if draft.link is not None:
            kind, _, link_id = draft.link
            label, invite_at = await self._link(branch_id, kind, link_id)
            if draft.template:
                title = require_text(f"{title}：{label}", self.settings.survey_text_max_length,
                                     "问卷标题")
            invite_at = max(invite_at, now)
        async with self.db.transaction():  # the survey, its notices and invitations, or none
            survey_id = await self.repo.create(
                branch_id=branch_id, group_id=group_id, creator_id=actor.user_id, title=title,
                template=draft.template, anonymous=draft.anonymous, link_kind=kind,
                link_id=link_id, invite_at=invite_at, questions=draft.questions, now=now)
            survey = await self.get(branch_id, survey_id)
            invited = await self._invite(survey) if invite_at <= now else 0
            await to_other_groups(self.branches, self.outbox, branch_id, group_id,
                                  await self.announcement(survey), "survey_new",
                                  f"survey:{survey_id}:new")
        return await self.get(branch_id, survey_id), invited

    async def announcement(self, survey: SurveyRow) -> str:
        """What the branch's other groups are told of a new survey."""
        kind = "匿名" if survey.anonymous else "记名"
        who = (f"只请{await self.link_label(survey)} 的参加者填写，"
               if survey.link_kind else "请本支部登记的成员填写，")
        return (f"📋 问卷 #{survey.id}「{survey.title}」（{len(survey.questions)} 题，{kind}）："
                f"{who}私聊我发送 /问卷 填写 #{survey.id}，一题一题地回答。")

    async def _link(self, branch_id: int, kind: str, link_id: int) -> tuple[str, int]:
        """The linked record's label and when its participants are invited."""
        if kind == "session":
            session = await self.sessions.get(branch_id, link_id)
            if session.state == "cancelled":
                raise DomainError(f"{_session_label(session)} 已取消，不能关联问卷。")
            topic = session.topic if len(session.topic) <= 30 else session.topic[:29] + "…"
            return (f"{_session_label(session)}「{topic}」",
                    self.sessions.window(session)[1])
        wish = await self.wishes.get(branch_id, link_id)
        if wish.state not in (WishState.AWAITING_RATING, WishState.COMPLETED):
            raise DomainError(f"心愿 #{wish.id} 还没有完成服务（现在：{wish.state.label}），"
                              "服务完成后再发起关联问卷。")
        return f"心愿 #{wish.id}", self.clock.timestamp()

    async def link_label(self, survey: SurveyRow) -> str:
        """``导学 #5`` (the activity's kind), ``心愿 #3``; empty when not linked."""
        if survey.link_kind == "session":
            try:
                return _session_label(await self.sessions.get_any(survey.link_id))
            except NotFound:
                return f"活动 #{survey.link_id}"
        if survey.link_kind == "wish":
            return f"心愿 #{survey.link_id}"
        return ""

    # finding -----------------------------------------------------------------------------

    async def get(self, branch_id: int, survey_id: int) -> SurveyRow:
        survey = await self.repo.get(survey_id, branch_id)
        if survey is None:
            raise NotFound(f"没有找到问卷 #{survey_id}。")
        return survey

    async def find(self, survey_id: int, actor: Actor, branch_id: int | None) -> SurveyRow:
        """In a group: this branch's survey. In a private chat: a survey of a branch where the
        asker has an active profile (or is invited to); otherwise not theirs."""
        if branch_id is not None:
            return await self.get(branch_id, survey_id)
        survey = await self.repo.get(survey_id)
        if survey is None or not (
                actor.is_superuser or await self.repo.is_member(survey.branch_id, actor.user_id)
                or actor.user_id in await invitees(self.repo, survey)):
            raise NotFound(f"问卷 #{survey_id} 不是你所在支部的问卷，或者不存在。")
        return survey

    async def branches_of(self, user_id: int) -> list[int]:
        return await self.repo.branches_of(user_id)

    async def listing(self, branch_ids: list[int]) -> list[tuple[SurveyRow, int]]:
        since = self.clock.timestamp() - RECENT_DAYS * 86400
        surveys = await self.repo.recent(branch_ids, since, self.settings.page_size)
        counts = await self.repo.response_counts(surveys)
        return [(s, counts[s.id]) for s in surveys]

    # answering ---------------------------------------------------------------------------

    async def start(self, survey_id: int, actor: Actor) -> AnswerSheet:
        """Begin answering in a private chat: only those asked, once each, while open."""
        survey = await self.find(survey_id, actor, None)
        await self._require_may_answer(survey, actor.user_id)
        return AnswerSheet(survey, actor.user_id, self.clock.now().timestamp(),
                           self.settings.survey_answer_timeout_minutes * 60,
                           self.settings.survey_answer_max_length)

    async def _require_may_answer(self, survey: SurveyRow, user_id: int) -> None:
        if survey.state != "open":
            raise DomainError(f"问卷 #{survey.id} 已经结束了。")
        if user_id not in await invitees(self.repo, survey):
            if survey.link_kind is not None:
                link = await self.link_label(survey)
                raise Forbidden(f"问卷 #{survey.id} 只请{link} 的参加者填写，你不在其中。")
            raise Forbidden(f"问卷 #{survey.id} 只请本支部登记的成员填写，请先在群里 /登记。")
        if await self.repo.has_answered(survey, user_id):
            raise DomainError(f"你已经填写过问卷 #{survey.id} 了，谢谢！")

    async def submit(self, sheet: AnswerSheet) -> SurveyRow:
        """Store a finished sheet (in one transaction); refused if answered meanwhile. An
        anonymous survey's answers wait in memory and are stored with a batch of others
        (``domain.anonymity``); only that this person answered is written now."""
        survey = await self.repo.get(sheet.survey.id)
        if survey is None or survey.state != "open":
            raise DomainError(f"问卷 #{sheet.survey.id} 已经结束，回答没有保存。")
        async with self.db.transaction():
            if not await self.repo.submit(survey, sheet.user_id, sheet.values,
                                          self.clock.timestamp()):
                raise DomainError(f"你已经填写过问卷 #{survey.id} 了，这次的回答没有保存。")
        if survey.anonymous:
            await self.waiting.received(survey.id, sheet.user_id, list(sheet.values))
        return survey

    async def _store_batch(self, survey_id: int,
                           sheets: list[tuple[int, list[str | None]]]) -> None:
        """Store a batch of anonymous responses, each under a random sheet number."""
        await self.repo.store_batch(survey_id, sheets, [secrets.randbits(62) for _ in sheets])

    async def _tell_lost(self, survey_id: int, people: list[int]) -> None:
        """Tell each person whose anonymous answers were lost before they were stored."""
        survey = await self.repo.get(survey_id)
        if survey is None:
            return
        if survey.state == "open":
            text = (f"抱歉：机器人重启时，你对匿名问卷 #{survey.id} 的回答还在等待与其他回答一起"
                    f"保存，没能保存。请重新填写：私聊我发送 /问卷 填写 #{survey.id}")
        else:
            text = (f"抱歉：你对匿名问卷 #{survey.id} 的回答在等待与其他回答一起保存时因机器人"
                    "重启丢失了，问卷已经结束，没能保存。")
        await tell_lost(self.outbox, await self.branches.groups(survey.branch_id),
                        branch_id=survey.branch_id, group_id=survey.group_id, people=people,
                        text=text, what=f"问卷 #{survey.id}")

    async def recover_lost_answers(self) -> int:
        """At start-up: anonymous answers that were waiting for their batch when the bot
        stopped are gone; their people are told and may answer again. Returns how many."""
        return await self.waiting.recover(await self.repo.all_waiting())

    async def store_before_stopping(self) -> int:
        """At a planned stop: store what waits where it makes a whole batch."""
        return await self.waiting.commit_whole_batches()

    # invitations -------------------------------------------------------------------------

    async def invite(self, survey_id: int) -> int:
        """Queue the private invitations of a survey, once (a linked one when its check-in
        closes); returns how many."""
        async with self.db.transaction():
            survey = await self.repo.get(survey_id)
            if survey is None or survey.state != "open":
                return 0
            return await self._invite(survey)

    async def _invite(self, survey: SurveyRow) -> int:
        """In the caller's transaction: claim the survey's invitation (once), record whom it
        reaches, and queue each a private invitation — or, where a private message cannot be
        delivered, an @-mention in a group of the branch that names only the command. The
        creator is counted as reached but not messaged."""
        if not await self.repo.mark_invited(survey.id, self.clock.timestamp()):
            return 0
        people = await invitees(self.repo, survey)
        await self.repo.add_invitations(survey.id, people)
        via = survey.group_id
        if via is None:
            groups = await self.branches.groups(survey.branch_id)
            via = groups[0] if groups else None
        kind = "匿名" if survey.anonymous else ""
        why = (f"你参加了{await self.link_label(survey)}" if survey.link_kind
               else "支部发起了一份问卷")
        content = (f"你好！{why}，请花一分钟填写{kind}问卷 #{survey.id}「{survey.title}」："
                   f"在这里发送 /问卷 填写 #{survey.id}。")
        queued = 0
        for user_id in people:
            if user_id == survey.creator_id:
                continue
            fallback = [at_segment(user_id),
                        text_segment(f" 问卷邀请：你有一份问卷待填写，请加我为好友后私聊发送 "
                                     f"/问卷 填写 #{survey.id}")]
            if await self.outbox.to_user(user_id, [text_segment(content)], "survey_invite",
                                         via_group_id=via, branch_id=survey.branch_id,
                                         dedupe_key=f"survey:{survey.id}:invite:{user_id}",
                                         fallback=fallback):
                queued += 1
        log.info("survey #%s: %s invitations queued", survey.id, queued)
        return queued

    async def invite_due(self) -> dict[int, int]:
        """Invite for every survey whose time has come (at start-up: those missed while down,
        late but still useful while the survey is open)."""
        due = await self.repo.due_invitations(self.clock.timestamp())
        return {s.id: await self.invite(s.id) for s in due}

    async def future_invitations(self) -> list[SurveyRow]:
        return await self.repo.future_invitations(self.clock.timestamp())

    # results and closing -----------------------------------------------------------------

    async def _require_admin_or_creator(self, survey: SurveyRow, actor: Actor,
                                        creator_too: bool) -> None:
        if creator_too and actor.user_id == survey.creator_id:
            return
        if not await self.branches.is_admin(survey.branch_id, actor):
            raise Forbidden("只有支委、书记或群管理员可以这样做。")

    async def results(self, survey_id: int, actor: Actor,
                      branch_id: int | None) -> SurveyResults:
        survey = await self.find(survey_id, actor, branch_id)
        await self._require_admin_or_creator(survey, actor, creator_too=True)
        responses = await self.repo.responses(survey)
        answered, invited = await response_figures(self.repo, survey)
        waiting = len(await self.repo.waiting(survey.id)) if survey.anonymous else 0
        return SurveyResults(survey, len(responses), answered, invited,
                             summarise(survey, responses), waiting)

    async def close(self, survey_id: int, actor: Actor, branch_id: int | None) -> SurveyRow:
        survey = await self.find(survey_id, actor, branch_id)
        await self._require_admin_or_creator(survey, actor, creator_too=True)
        async with self.waiting.lock, self.db.transaction():  # closed with its last batch
            if not await self.repo.close(survey.id, self.clock.timestamp()):
                raise DomainError(f"问卷 #{survey.id} 已经结束了。")
            if survey.anonymous:
                await self.waiting.commit_rest(survey.id)
        if survey.anonymous:
            await self.waiting.erase_history()
        return await self.get(survey.branch_id, survey.id)

    async def render_results(self, results: SurveyResults) -> str:
        survey = results.survey
        state = "进行中" if survey.state == "open" else "已结束"
        extra = [state, "匿名" if survey.anonymous else "记名"]
        if survey.link_kind:
            extra.append("关联 " + await self.link_label(survey))
        lines = [f"问卷 #{survey.id}「{survey.title}」（{'；'.join(extra)}）",
                 f"回收 {results.responses} 份；回收率 "
                 f"{_percent(response_rate(results.answered, results.invited))}"
                 f"（{results.answered}/{results.invited} 人）"]
        if results.waiting:
            lines.append(f"另有 {results.waiting} 份匿名回答已收到、等待保存（为保护匿名，每凑满 "
                         f"{self.waiting.batch} 份一起保存，问卷结束时全部保存）。")
        for s in results.summaries:
            q = s.question
            head = f"{q.position}. [{KIND_LABELS[q.kind]}] {q.prompt}"
            if q.kind == "scale":
                if not s.scores:
                    lines.append(f"{head}：暂无回答")
                    continue
                spread = " ".join(f"{v}分×{s.scores.count(v)}" for v in range(5, 0, -1))
                lines.append(f"{head}：平均 {satisfaction_mean(s.scores):.2f} 分，4–5 分占 "
                             f"{_percent(satisfied_share(s.scores))}（{s.answered} 人；{spread}）")
            elif q.kind == "choice":
                parts = [f"{c} {n}" for c, n in zip(q.choices, s.counts, strict=True)]
                lines.append(f"{head}：" + "，".join(parts) + f"（{s.answered} 人）")
            else:
                lines.append(f"{head}：{s.answered} 条回答")
                lines += [f"  · {t}" for t in s.texts[-TEXTS_SHOWN:]]
        return "\n".join(lines)

    async def table(self, survey: SurveyRow,
                    names: dict[int, str]) -> tuple[list[str], list[list]]:
        """The survey as a sheet: a row per response. Anonymous surveys have no identity or
        time columns (and their rows are in random order)."""
        questions = [f"{q.position}. {q.prompt}" for q in survey.questions]
        rows = []
        for r in await self.repo.responses(survey):
            answers = [display_value(q, v) for q, v in zip(survey.questions, r.values,
                                                            strict=True)]
            if survey.anonymous:
                rows.append(answers)
            else:
                assert r.user_id is not None
                rows.append([r.user_id, names.get(r.user_id, str(r.user_id)),
                             self.clock.format(r.submitted_at, "%Y-%m-%d %H:%M"), *answers])
        headers = questions if survey.anonymous else ["QQ", "姓名", "提交时间", *questions]
        return headers, rows


    async def sheets(self, branch_id: int, since: int,
                     until: int) -> list[tuple[SurveyRow, list[str], list[list]]]:
        """Every survey started in [since, until) as (survey, headers, rows), for the export."""
        found = []
        for survey in await self.repo.created_between(branch_id, since, until):
            people = [] if survey.anonymous else await self.repo.respondents(survey)
            names = await self.branches.names(branch_id, people)
            found.append((survey, *await self.table(survey, names)))
        return found


def _session_label(session) -> str:
    return f"{getattr(session, 'kind', '导学')} #{session.id}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
