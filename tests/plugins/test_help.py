"""/帮助 ends with the link to the members' guide when ``docs_url`` is set."""

import pytest

from config import BranchConfig
from tests.fakes import Says, converse, group_message, private_message
from tests.plugins.conftest import MASSES

GUIDE = "https://zhibu.example.edu.cn/同学指南"


@pytest.fixture
def settings() -> BranchConfig:
    return BranchConfig(reply_interval_seconds=0, docs_url=GUIDE)


async def test_the_menu_ends_with_the_guide(app, branch):
    menu = Says("功能菜单", f"同学指南（怎么用、有例子）：{GUIDE}")
    await converse(app, (group_message(MASSES, "/帮助"), menu),
                   (private_message(MASSES, "/帮助"), Says(GUIDE)))
    assert "".join(s.data["text"] for s in menu.seen).splitlines()[-1].endswith(GUIDE)


async def test_one_feature_has_no_link(app, branch):
    await converse(app, (group_message(MASSES, "/帮助 心愿"), Says("【微心愿】", absent=(GUIDE,))))
