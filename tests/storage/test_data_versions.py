"""The per-branch change counter behind the picture cache (issue 23): every table is decided,
the writes a figure reads bump it, the others do not; a picture is drawn again after a change
and after a deadline passes, and reused otherwise."""

from datetime import timedelta

import pytest

from domain.branches import Actor
from domain.models import Category
from domain.outbox import text_segment
from runtime import charts, pictures

# tables no figure of /统计 reads (the migration's comment says why); every other table must
# have the dv_<table>_* triggers, so a new table fails here until its migration decides
NOT_VERSIONED = {"outbox", "outbox_backlog_warnings", "reminders", "checkin_failures",
                 "rotations", "pairings", "pairs", "branch_merges", "points_agg",
                 "poll_options", "poll_tallies", "data_versions", "dashboard_links",
                 "friend_hints", "playground_state", "exemplar_calls", "showcase_pages",
                 "seen_events",
                 "sqlite_sequence"}
GROUP = 740001
OWNER = Actor(1, is_superuser=True)


async def test_every_table_is_versioned_or_listed(svc):
    tables = {r[0] for r in await svc.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    triggered = {r[0] for r in await svc.db.fetchall(
        "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'dv_%'")}
    assert not triggered & NOT_VERSIONED
    undecided = tables - triggered - NOT_VERSIONED
    assert not undecided, f"decide whether /统计 reads {sorted(undecided)} (migration 0015)"


async def test_writes_a_figure_reads_bump_the_branch_counter(svc, clock):
    branch = await svc.branches.branch_for_group(GROUP)
    other = await svc.branches.branch_for_group(GROUP + 1)
    counter = svc.reports.counter

    async def bumps(action) -> bool:
        before, elsewhere = await counter(branch.id), await counter(other.id)
        await action()
        assert await counter(other.id) == elsewhere  # another branch's pictures stay
        return await counter(branch.id) > before

    assert await bumps(lambda: svc.branches.register(branch.id, 40001, "甲", "1楼", None))
    assert await bumps(lambda: svc.points.book(branch.id, 40001, Category.AWARD, 3, "x",
                                               ref=None))
    wish = await svc.wishes.post(branch.id, GROUP, 40001, "帮忙")
    assert await bumps(lambda: svc.wishes.withdraw(branch.id, wish.id, 40001))
    await svc.branches.set_role(branch.id, OWNER, 40001, "正式党员")
    session = await svc.sessions.create(
        branch.id, GROUP, OWNER, "党章学习", clock.now() + timedelta(minutes=10), 60, 40001)
    clock.advance(minutes=10)
    assert await bumps(lambda: svc.sessions.manual_check_in(
        branch.id, OWNER, session.id, 40001, "补签"))  # a row of a child table
    assert await bumps(lambda: svc.branches.rename(branch, OWNER, "新名字"))
    assert await bumps(lambda: svc.branches.start_term(branch.id, OWNER, "下学期"))
    # what no figure reads leaves the pictures alone
    assert not await bumps(lambda: svc.outbox.to_group(GROUP, [text_segment("x")], "notice"))
    assert not await bumps(lambda: svc.reminders.add(branch.id, OWNER, "明天 8:00 开会"))


@pytest.fixture
def font():
    charts.reset_font()
    found = charts.configure()
    if found is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); pictures untested")
    yield found
    charts.reset_font()


async def test_the_card_is_drawn_once_per_version(svc, clock, font):
    branch = await svc.branches.branch_for_group(GROUP)
    await svc.branches.register(branch.id, 40001, "甲", "1楼", None)
    term = await svc.branches.current_term(branch.id)
    cache = pictures.cache_of(svc)

    first = await pictures.report_card(svc, branch.id, term, 10)
    assert await pictures.report_card(svc, branch.id, term, 10) is first  # reused
    assert (cache.draws, cache.hits) == (1, 1)
    await pictures.report_card(svc, branch.id, term, 11)  # another member count: its own
    assert cache.draws == 2
    await svc.points.book(branch.id, 40001, Category.AWARD, 3, "x", ref=None)
    assert await pictures.report_card(svc, branch.id, term, 10) is not first  # a change
    assert cache.draws == 3
    await pictures.report_card(svc, branch.id, term, 10)
    assert cache.draws == 3


async def test_a_passing_deadline_draws_the_card_again(svc, clock, font, settings):
    branch = await svc.branches.branch_for_group(GROUP)
    await svc.branches.register(branch.id, 40001, "甲", "1楼", None)
    term = await svc.branches.current_term(branch.id)
    await svc.problems.raise_problem(branch.id, GROUP, 40001, "报修 灯坏了", False)
    cache = pictures.cache_of(svc)
    await pictures.report_card(svc, branch.id, term, None)
    clock.advance(hours=11)  # before 报修's 12-hour first-response target: nothing changed
    await pictures.report_card(svc, branch.id, term, None)
    assert cache.draws == 1
    clock.advance(hours=1, seconds=1)  # the problem is now 超时, with no write at all
    await pictures.report_card(svc, branch.id, term, None)
    assert cache.draws == 2
    report = await svc.reports.build_term(branch.id, term)
    assert report.problems.overdue == 1


async def test_each_database_has_its_own_pictures(svc, clock, font, tmp_path, settings):
    from domain.services import open_services

    other = await open_services(settings, clock, str(tmp_path / "other.db"))
    try:
        for services in (svc, other):
            branch = await services.branches.branch_for_group(GROUP)
            term = await services.branches.current_term(branch.id)
            await pictures.report_card(services, branch.id, term, None)
        assert pictures.cache_of(svc).draws == pictures.cache_of(other).draws == 1
    finally:
        await other.db.close()
