import pytest

from config import BranchConfig
from domain.branches import Actor
from tests.fakes import GROUP

WISHER, HELPER, MASSES, SECRETARY = 20101, 20102, 20103, 20104


@pytest.fixture
def settings() -> BranchConfig:
    """Matcher tests answer one command at a time and check each reply: no reply pacing (the
    pacing and merging of replies has its own tests, which set it)."""
    return BranchConfig(reply_interval_seconds=0)


@pytest.fixture
async def branch(services):
    """The test group's branch, with a wisher, an eligible helper, a 群众 and a secretary."""
    svc = services
    branch = await svc.branches.branch_for_group(GROUP)
    owner = Actor(1, is_group_admin=True)
    for uid, name in ((WISHER, "小王"), (HELPER, "小李"), (MASSES, "小赵"), (SECRETARY, "老张")):
        await svc.branches.register(branch.id, uid, name, "3楼", "301")
    await svc.branches.set_role(branch.id, owner, HELPER, "正式党员")
    await svc.branches.set_role(branch.id, owner, SECRETARY, "书记")
    return branch
