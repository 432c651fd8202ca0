"""The container that wires repositories and domain services around one database."""

from __future__ import annotations

from dataclasses import dataclass

from config import BranchConfig
from domain.accounts import Accounts
from domain.activities import ActivityService
from domain.branches import BranchService
from domain.clock import Clock, clock_for
from domain.dashboard import DashboardService
from domain.exemplars import ExemplarService
from domain.guard import CommandGuard
from domain.lectures import LectureService
from domain.outbox import OutboxService
from domain.overview import OverviewService
from domain.points import PointsService
from domain.polls import PollService
from domain.posts import PostService
from domain.problems import ProblemService
from domain.reminders import ReminderService
from domain.report import ReportService
from domain.sessions import SessionService
from domain.surveys import SurveyService
from domain.tasks import TaskService
from domain.wishes import WishService
from storage.database import Database


@dataclass
class Services:
    settings: BranchConfig
    clock: Clock
    db: Database
    branches: BranchService
    points: PointsService
    wishes: WishService
    outbox: OutboxService
    reminders: ReminderService
    sessions: SessionService
    activities: ActivityService
    reports: ReportService
    overview: OverviewService
    guard: CommandGuard
    problems: ProblemService
    polls: PollService
    surveys: SurveyService
    accounts: Accounts
    dashboard: DashboardService
    posts: PostService
    tasks: TaskService
    lectures: LectureService
    exemplars: ExemplarService


async def open_services(settings: BranchConfig, clock: Clock | None = None,
                        db_path: str | None = None) -> Services:
    """Open (and migrate) the database and build every service on it."""
    clock = clock or clock_for(settings.branch_timezone, settings.clock_offset_seconds)
    db = Database(db_path or settings.branch_db_path)
    await db.open()
    branches = BranchService(db, settings, clock)
    outbox = OutboxService(db, settings, clock)
    points = PointsService(db, settings, clock, branches, outbox)
    wishes = WishService(db, settings, clock, branches, points, outbox)
    reminders = ReminderService(db, settings, clock, branches, outbox)
    sessions = SessionService(db, settings, clock, branches, points, outbox)
    # a bind that moved a branch's records: the open-session cache of both branches is stale
    branches.after_merge.append(
        lambda old, new: [sessions._open_cache.pop(b, None) for b in (old, new)])
    activities = ActivityService(db, settings, clock, branches, sessions, outbox)
    reports = ReportService(db, settings, clock, branches)
    reports.activities = activities
    overview = OverviewService(db, settings, branches)
    problems = ProblemService(db, settings, clock, branches, points, outbox)
    polls = PollService(db, settings, clock, branches, outbox)
    surveys = SurveyService(db, settings, clock, branches, outbox, sessions, wishes)
    posts = PostService(db, settings, clock, branches, outbox)
    branches.term_ending.append(posts.freeze_term)  # posts are part of the frozen membership
    wishes.on_posted.append(posts.tell_area_of_wish)  # a wish or problem from an area's dorms
    problems.on_raised.append(posts.tell_area_of_problem)
    tasks = TaskService(db, settings, clock, branches, points, outbox, posts)
    reports.posts, reports.tasks = posts, tasks
    lectures = LectureService(db, settings, clock, branches, sessions, points, outbox)
    # a field's vote is a poll: its close records the winner (polls.close_hooks)
    exemplars = ExemplarService(db, settings, clock, branches, points, polls, lectures, outbox)
    reports.lectures, reports.exemplars = lectures, exemplars
    guard = CommandGuard(settings)
    # events acted on shortly before a restart are still recognised when re-delivered
    now = clock.timestamp()
    guard.seen.load(await db.recent_events(now - settings.duplicate_window_seconds), now)
    return Services(settings=settings, clock=clock, db=db, branches=branches, points=points,
                    wishes=wishes, outbox=outbox, reminders=reminders, sessions=sessions,
                    activities=activities,
                    reports=reports, problems=problems, overview=overview,
                    guard=guard, polls=polls, surveys=surveys, posts=posts,
                    tasks=tasks, dashboard=DashboardService(db, settings, clock, branches),
                    lectures=lectures, exemplars=exemplars,
                    accounts=Accounts(settings.risk_failures, settings.risk_pause_seconds,
                                      settings.risk_pause_max_seconds))
