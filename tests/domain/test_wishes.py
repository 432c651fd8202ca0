import asyncio

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import WishState
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER


async def post(world, content="帮我办理毕业手续"):
    return await world.svc.wishes.post(world.branch_id, 5001, WISHER, content)


async def test_post_returns_open_wish_with_number(world):
    wish = await post(world)
    assert wish.id >= 1 and wish.state is WishState.OPEN and wish.wisher_id == WISHER
    again = await post(world, "第二个")
    assert again.id == wish.id + 1


@pytest.mark.parametrize("content", ["", "   ", "长" * 201])
async def test_post_refuses_empty_or_too_long_and_writes_nothing(world, content):
    with pytest.raises(DomainError) as err:
        await post(world, content)
    assert "200" in str(err.value) or "不能为空" in str(err.value)
    page = await world.svc.wishes.list_page(world.branch_id, 1)
    assert page.total == 0


async def test_full_loop_books_points_once(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    claimed = await svc.wishes.claim(b, wish.id, HELPER)
    assert claimed.state is WishState.CLAIMED and claimed.claimer_id == HELPER
    done = await svc.wishes.mark_done(b, wish.id, HELPER, "已陪同办理")
    assert done.state is WishState.AWAITING_RATING and done.done_note == "已陪同办理"
    result = await svc.wishes.rate(b, wish.id, WISHER, 5, "非常感谢")
    assert result.wish.state is WishState.COMPLETED and result.wish.rating == 5
    assert result.points == 7  # +5 completed, +2 five stars
    summary = await svc.points.summary(b, HELPER)
    assert summary.total == 7 and summary.breakdown == {"服务": 7} and summary.rank == 1
    with pytest.raises(DomainError):
        await svc.wishes.rate(b, wish.id, WISHER, 5, None)
    assert (await svc.points.summary(b, HELPER)).total == 7
    actions = [e.action for e in await svc.wishes.history(result.wish)]
    assert actions == ["发布", "认领", "完成", "评价"]


async def test_rating_below_five_books_no_bonus(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    result = await svc.wishes.rate(b, wish.id, WISHER, 4, None)
    assert result.points == 5


async def test_claim_refusals(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    with pytest.raises(Forbidden, match="认领心愿需要身份"):
        await svc.wishes.claim(b, wish.id, MASSES)
    with pytest.raises(Forbidden, match="登记"):
        await svc.wishes.claim(b, wish.id, 999)
    own = await svc.wishes.post(b, 5001, HELPER, "我自己的")
    with pytest.raises(DomainError, match="自己"):
        await svc.wishes.claim(b, own.id, HELPER)
    with pytest.raises(NotFound):
        await svc.wishes.claim(b, 9999, HELPER)
    await svc.wishes.claim(b, wish.id, HELPER)
    with pytest.raises(DomainError, match="已由 助人者 认领"):  # says by whom (issue 14)
        await svc.wishes.claim(b, wish.id, HELPER2)


async def test_claim_limit(world, settings):
    svc, b = world.svc, world.branch_id
    ids = [(await post(world, f"心愿{i}")).id for i in range(settings.wish_max_claims + 1)]
    for wish_id in ids[:-1]:
        await svc.wishes.claim(b, wish_id, HELPER)
    with pytest.raises(DomainError, match=f"{settings.wish_max_claims} 个进行中"):
        await svc.wishes.claim(b, ids[-1], HELPER)
    await svc.wishes.give_up(b, ids[0], HELPER)
    assert (await svc.wishes.claim(b, ids[-1], HELPER)).claimer_id == HELPER


async def test_claim_race_has_exactly_one_winner(world):
    svc, b = world.svc, world.branch_id
    owner = Actor(1, is_group_admin=True)
    racers = list(range(2000, 2030))
    for uid in racers:
        await svc.branches.register(b, uid, f"党员{uid}", None, None)
        await svc.branches.set_role(b, owner, uid, "预备党员")
    wish = await post(world)
    results = await asyncio.gather(
        *(svc.wishes.claim(b, wish.id, uid) for uid in racers), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1 and len(losers) == len(racers) - 1
    final = await svc.wishes.get(b, wish.id)
    assert final.claimer_id == winners[0].claimer_id
    claims = [e for e in await svc.wishes.history(final) if e.action == "认领"]
    assert len(claims) == 1


async def test_give_up_only_by_claimer_reopens(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    await svc.wishes.claim(b, wish.id, HELPER)
    with pytest.raises(Forbidden):
        await svc.wishes.give_up(b, wish.id, HELPER2)
    reopened = await svc.wishes.give_up(b, wish.id, HELPER)
    assert reopened.state is WishState.OPEN and reopened.claimer_id is None
    assert (await svc.wishes.claim(b, wish.id, HELPER2)).claimer_id == HELPER2


async def test_done_and_rate_only_by_the_right_person(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    with pytest.raises(Forbidden):
        await svc.wishes.mark_done(b, wish.id, HELPER, None)  # not claimed yet
    await svc.wishes.claim(b, wish.id, HELPER)
    with pytest.raises(DomainError):
        await svc.wishes.rate(b, wish.id, WISHER, 5, None)  # not served yet
    with pytest.raises(Forbidden):
        await svc.wishes.mark_done(b, wish.id, HELPER2, None)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    with pytest.raises(Forbidden):
        await svc.wishes.rate(b, wish.id, HELPER, 5, None)
    with pytest.raises(DomainError):
        await svc.wishes.rate(b, wish.id, WISHER, 6, None)
    with pytest.raises(DomainError, match="等待评价"):
        await svc.wishes.mark_done(b, wish.id, HELPER, None)


async def test_withdraw_from_open_and_claimed_only(world):
    svc, b = world.svc, world.branch_id
    first, second, third = [await post(world, t) for t in "甲乙丙"]
    assert (await svc.wishes.withdraw(b, first.id, WISHER)).state is WishState.WITHDRAWN
    await svc.wishes.claim(b, second.id, HELPER)
    with pytest.raises(Forbidden):
        await svc.wishes.withdraw(b, second.id, HELPER)
    assert (await svc.wishes.withdraw(b, second.id, WISHER)).state is WishState.WITHDRAWN
    await svc.wishes.claim(b, third.id, HELPER)
    await svc.wishes.mark_done(b, third.id, HELPER, None)
    with pytest.raises(DomainError, match="待评价"):
        await svc.wishes.withdraw(b, third.id, WISHER)
    with pytest.raises(DomainError, match="已撤回"):
        await svc.wishes.claim(b, first.id, HELPER)


async def test_close_is_admin_only_and_ends_any_open_state(world):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    with pytest.raises(Forbidden):
        await svc.wishes.close(b, wish.id, Actor(HELPER), "无")
    closed = await svc.wishes.close(b, wish.id, world.secretary, "重复发布")
    assert closed.state is WishState.CLOSED and closed.end_reason == "重复发布"
    with pytest.raises(DomainError, match="已关闭"):
        await svc.wishes.close(b, wish.id, world.secretary, None)
    assert (await svc.points.summary(b, HELPER)).total == 0


async def test_unrated_wish_completes_after_rating_days(world, clock, settings):
    svc, b = world.svc, world.branch_id
    wish = await post(world)
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    clock.advance(days=settings.wish_rating_days, seconds=-1)
    assert await svc.wishes.auto_complete_overdue() == []
    clock.advance(seconds=1)
    [done] = await svc.wishes.auto_complete_overdue()
    assert done.wish.state is WishState.COMPLETED and done.wish.auto_completed
    assert done.wish.rating is None and done.points == settings.points_wish_done
    assert await svc.wishes.auto_complete_overdue() == []
    assert (await svc.points.summary(b, HELPER)).total == settings.points_wish_done


async def test_wish_of_another_branch_is_not_found(world):
    svc = world.svc
    wish = await post(world)
    other = await svc.branches.branch_for_group(5002)
    assert other.id != world.branch_id
    with pytest.raises(NotFound):
        await svc.wishes.get(other.id, wish.id)
    with pytest.raises(NotFound):
        await svc.wishes.claim(other.id, wish.id, HELPER)


async def test_secretary_flag_makes_admin(world):
    svc, b = world.svc, world.branch_id
    assert await svc.branches.is_admin(b, Actor(SECRETARY))
    assert not await svc.branches.is_admin(b, Actor(HELPER))
    assert await svc.branches.is_admin(b, Actor(HELPER, is_superuser=True))
