from nonebot.adapters.onebot.v11 import Bot
from nonebot.matcher import Matcher

from tests.fakes import SELF_ID, Says, group_message
from tests.plugins.conftest import HELPER


async def test_internal_error_answers_politely_without_traceback(app, services):
    from runtime.context import _report_failure

    event = group_message(HELPER, "/心愿")
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.should_call_send(
            event, Says("处理这条命令时出错了", absent=("disk on fire", "Traceback")), result={}
        )
        await _report_failure(bot, event, Matcher(), RuntimeError("disk on fire"))


async def test_no_notice_when_the_command_went_fine(app, services):
    from runtime.context import _report_failure

    event = group_message(HELPER, "/心愿")
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        await _report_failure(bot, event, Matcher(), None)  # any send would fail the test
