"""The secretary's page's links and tables (issue 23), and the weekly commendation poster."""

from datetime import timedelta

import pytest

from domain.branches import Actor
from domain.dashboard import DASHBOARD_PATH, token_hash
from domain.errors import DomainError
from domain.models import Category
from runtime.outbox import OutboxDispatcher
from tests.runtime.test_outbox_dispatcher import FakeBot

GROUP = 750001
SECRETARY, MEMBER = 40001, 40002
OWNER = Actor(1, is_superuser=True)


@pytest.fixture
async def branch(svc):
    branch = await svc.branches.branch_for_group(GROUP)
    await svc.branches.register(branch.id, SECRETARY, "老张", "1楼", None)
    await svc.branches.register(branch.id, MEMBER, "小王", "1楼", None)
    await svc.branches.set_role(branch.id, OWNER, SECRETARY, "书记")
    return branch


def token_of(link) -> str:
    assert link.url_path.startswith(DASHBOARD_PATH + "/")
    return link.url_path.rsplit("/", 1)[1]


async def test_a_link_works_for_its_hours_and_only_for_admins(svc, clock, branch, settings):
    link = await svc.dashboard.create_link(Actor(SECRETARY))
    token = token_of(link)
    assert link.branch.id == branch.id
    assert link.expires_at == clock.timestamp() + settings.dashboard_link_hours * 3600
    assert (await svc.dashboard.open(token)).branch_id == branch.id
    stored = await svc.db.fetchall("SELECT token_hash FROM dashboard_links")
    assert [r[0] for r in stored] == [token_hash(token)]  # the database holds no working link
    for wrong in ("", "short", token[:-1] + ("A" if token[-1] != "A" else "B"), "../" * 10):
        assert await svc.dashboard.open(wrong) is None
    clock.advance(hours=settings.dashboard_link_hours, seconds=-1)
    assert await svc.dashboard.open(token) is not None
    clock.advance(seconds=1)
    assert await svc.dashboard.open(token) is None  # expired
    with pytest.raises(DomainError, match="只有支委、书记"):
        await svc.dashboard.create_link(Actor(MEMBER))


async def test_a_link_stops_working_when_its_holder_is_no_admin(svc, branch):
    token = token_of(await svc.dashboard.create_link(Actor(SECRETARY)))
    await svc.branches.set_role(branch.id, OWNER, SECRETARY, "取消书记")
    assert await svc.dashboard.open(token) is None


async def test_several_branches_are_named(svc, branch):
    other = await svc.branches.branch_for_group(GROUP + 1)
    with pytest.raises(DomainError, match="请写明支部"):
        await svc.dashboard.create_link(OWNER)  # a superuser administers every branch
    link = await svc.dashboard.create_link(OWNER, other.id)
    assert link.branch.id == other.id
    assert await svc.dashboard.open(token_of(link)) is None  # only while still a superuser
    assert (await svc.dashboard.open(token_of(link), lambda uid: uid == 1)).branch_id == other.id
    with pytest.raises(DomainError, match="不是支部 #99"):
        await svc.dashboard.create_link(Actor(SECRETARY), 99)


async def test_the_tables_open_problems_and_upcoming_activities(svc, clock, branch):
    raised = await svc.problems.raise_problem(branch.id, GROUP, MEMBER, "报修 灯坏了", False)
    done = await svc.problems.raise_problem(branch.id, GROUP, MEMBER, "学业 想找人讲题", False)
    await svc.problems.close(branch.id, done.id, OWNER, "重复")
    share = await svc.activities.create(branch.id, GROUP, OWNER, "微分享", "考研经验",
                                        clock.now() + timedelta(days=3), 90, SECRETARY,
                                        capacity=1)
    await svc.activities.sign_up(branch.id, MEMBER, share.id)
    await svc.activities.sign_up(branch.id, SECRETARY, share.id)
    clock.advance(hours=30)
    problems, activities = await svc.dashboard.tables(branch.id)
    assert problems.title == "未办结的民情（1 个）"
    assert problems.rows == [(f"#{raised.id}", "报修", "待受理", "30.0 小时", "—", "灯坏了")]
    assert activities.rows == [(f"#{share.id}", "微分享", "考研经验",
                                svc.clock.format(share.starts_at, "%m-%d %H:%M"), "1/1", "1")]


async def test_the_commendation_is_a_poster_and_text_where_refused(svc, clock, branch):
    await svc.points.book(branch.id, MEMBER, Category.AWARD, 5, "x", ref=None)
    drawn = []

    async def poster(commendation):
        drawn.append(commendation)
        return b"\x89PNG fake"

    svc.points.poster = poster
    assert await svc.points.queue_commendations() == 1
    assert drawn[0].branch_name == branch.name and drawn[0].rows == [(1, MEMBER, 5)]
    refusing = RefusingImages(clock)

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    await OutboxDispatcher(svc, lambda: {1: refusing}, sleep=fake_sleep).drain()
    sent = [d["message"] for _, api, d in refusing.calls if api == "send_group_msg"]
    assert [s[0].type for s in sent] == ["image", "text"]  # refused, then the text instead
    assert sent[0][0].data["file"].startswith("base64://")
    assert "本周积分表彰" in sent[1][0].data["text"] and "小王 5 分" in sent[1][0].data["text"]


class RefusingImages(FakeBot):
    """A QQ side that refuses every message with a picture."""

    async def call_api(self, api: str, **data):
        if any(seg.type == "image" for seg in data.get("message", [])):
            self.calls.append((self.clock.now().timestamp(), api, data))
            from nonebot.adapters.onebot.v11 import ActionFailed

            raise ActionFailed(status="failed", retcode=1200, message="图片发送失败")
        return await super().call_api(api, **data)
