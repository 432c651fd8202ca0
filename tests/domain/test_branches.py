import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound


async def test_each_group_is_its_own_branch_with_a_term(svc):
    a = await svc.branches.branch_for_group(1)
    again = await svc.branches.branch_for_group(1)
    b = await svc.branches.branch_for_group(2)
    assert a == again and a.id != b.id
    term = await svc.branches.current_term(a.id)
    assert term.name == "2026-2027学年第一学期"


async def test_bind_needs_admin_here_and_there(svc):
    home = await svc.branches.branch_for_group(1)
    await svc.branches.branch_for_group(2)
    await svc.branches.register(home.id, 55, "书记", None, None)
    await svc.branches.set_role(home.id, Actor(1, is_superuser=True), 55, "书记")
    with pytest.raises(Forbidden, match="群主"):
        await svc.branches.bind(2, home.id, Actor(55))  # not admin of group 2
    with pytest.raises(Forbidden, match="支委或书记"):
        await svc.branches.bind(2, home.id, Actor(66, is_group_admin=True))
    with pytest.raises(NotFound):
        await svc.branches.bind(2, 999, Actor(55, is_group_admin=True))
    bound = await svc.branches.bind(2, home.id, Actor(55, is_group_admin=True))
    assert bound.id == home.id
    assert (await svc.branches.branch_for_group(2)).id == home.id
    assert await svc.branches.groups(home.id) == [1, 2]
    with pytest.raises(DomainError, match="已经属于"):
        await svc.branches.bind(2, home.id, Actor(55, is_group_admin=True))


async def test_register_validates_and_updates(svc):
    b = (await svc.branches.branch_for_group(1)).id
    with pytest.raises(DomainError, match="20"):
        await svc.branches.register(b, 5, "名" * 21, None, None)
    m = await svc.branches.register(b, 5, "张三", "3楼", "301")
    assert (m.name, m.floor, m.dorm, m.identity) == ("张三", "3楼", "301", "群众")
    m = await svc.branches.register(b, 5, "张三丰", "4楼", None)
    assert (m.name, m.floor, m.dorm) == ("张三丰", "4楼", None)


async def test_roles_and_removal(svc):
    b = (await svc.branches.branch_for_group(1)).id
    owner = Actor(1, is_group_admin=True)
    await svc.branches.register(b, 5, "张三", None, None)
    with pytest.raises(Forbidden):
        await svc.branches.set_role(b, Actor(5), 5, "正式党员")
    with pytest.raises(DomainError, match="身份只能是"):
        await svc.branches.set_role(b, owner, 5, "大将军")
    with pytest.raises(NotFound):
        await svc.branches.set_role(b, owner, 6, "正式党员")
    m = await svc.branches.set_role(b, owner, 5, "预备党员")
    m = await svc.branches.set_role(b, owner, 5, "支委")
    assert m.identity == "预备党员" and m.is_committee and m.titles == "预备党员·支委"
    assert await svc.branches.is_admin(b, Actor(5))
    m = await svc.branches.set_role(b, owner, 5, "取消支委")
    assert not m.is_committee
    await svc.branches.remove(b, owner, 5)
    assert await svc.branches.member(b, 5) is None
    with pytest.raises(NotFound):
        await svc.branches.remove(b, owner, 5)
