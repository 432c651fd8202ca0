from tests.fakes import Says, converse, group_message
from tests.plugins.conftest import HELPER


async def test_internal_error_answers_politely_without_traceback(app, branch, services,
                                                                 monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services.wishes, "list_page", broken)
    await converse(app, (group_message(HELPER, "/心愿"),
                         Says("处理这条命令时出错了", absent=("disk on fire", "Traceback"))))
    monkeypatch.undo()
    await converse(app, (group_message(HELPER, "/心愿"), Says("现在没有待认领")))
