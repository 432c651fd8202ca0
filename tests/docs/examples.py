"""The example conversations of the Chinese manuals, read from their markdown.

A manual shows conversations in fenced blocks whose info string is ``对话`` (or, to run without
being shown, inside an HTML comment ``<!-- 对话 … -->``)::

    ```对话
    ⏰ 11月27日 20:00
    【1楼群】陈书记：/支部 创建 社区第一党支部
    🤖 已创建支部 #1 …
    ```

- ``⏰ <月>月<日>日 … <时>:<分>`` sets the bot's clock (the year is the story's);
- ``【<1楼群|2楼群|私聊>】<姓名>：<typed text>`` is a message from one of the playground's
  cast (``tools/playground.py``, ``CAST``), ``@姓名`` being an @-mention; lines after it up to
  the answer are more lines of the same message;
- ``🤖 <line>`` is the first line of the bot's answer in that chat, compared exactly; lines
  after it (until the next ``【``, ``⏰`` or the block's end) must appear in the answer in that
  order, ``……`` standing for lines left out.

A manual names its starting point in a comment at its top: ``<!-- 例子从空白开始 -->`` (a bot
in two groups and nothing else) or ``<!-- 例子从体验环境开始 -->`` (the playground's seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```对话[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HIDDEN = re.compile(r"<!--\s*对话[ \t]*\n(.*?)-->", re.DOTALL)
CLOCK = re.compile(r"^⏰\s*(\d{1,2})月(\d{1,2})日.*?(\d{1,2})[:：](\d{2})\s*$")
SPEAKER = re.compile(r"^【(?P<chat>[^】]+)】(?P<who>[^：]+)：(?P<text>.*)$")
ANSWER = "🤖 "
ELIDED = "……"
START_EMPTY = "<!-- 例子从空白开始 -->"
START_SEEDED = "<!-- 例子从体验环境开始 -->"


@dataclass
class Step:
    line: int  # in the markdown file, for the failure message
    chat: str = ""
    who: str = ""
    text: str = ""
    answer: list[str] = field(default_factory=list)
    clock: tuple[int, int, int, int] | None = None  # month, day, hour, minute


def parse(path: Path) -> tuple[str, list[Step]]:
    """(starting point, steps in file order) of a manual."""
    source = path.read_text(encoding="utf-8")
    if START_EMPTY in source:
        start = "empty"
    elif START_SEEDED in source:
        start = "seeded"
    else:
        raise ValueError(f"{path.name}: no starting point ({START_EMPTY} or {START_SEEDED})")
    blocks = [(m.start(1), m.group(1)) for m in FENCE.finditer(source)]
    blocks += [(m.start(1), m.group(1)) for m in HIDDEN.finditer(source)]
    steps: list[Step] = []
    for offset, body in sorted(blocks):
        first_line = source.count("\n", 0, offset) + 1
        steps += _steps(body, first_line, path.name)
    return start, steps


def _steps(body: str, first_line: int, name: str) -> list[Step]:
    steps: list[Step] = []
    current: Step | None = None
    for n, raw in enumerate(body.splitlines(), start=first_line):
        line = raw.rstrip()
        if not line.strip():
            continue
        clock = CLOCK.match(line)
        speaker = SPEAKER.match(line)
        if clock:
            current = None
            steps.append(Step(n, clock=tuple(int(x) for x in clock.groups())))
        elif speaker:
            current = Step(n, speaker["chat"], speaker["who"].strip(), speaker["text"])
            steps.append(current)
        elif current is None:
            raise ValueError(f"{name}:{n}: a line outside any message: {line!r}")
        elif line.startswith(ANSWER) or line == ANSWER.strip():
            current.answer.append(line[len(ANSWER):] if line.startswith(ANSWER) else "")
        elif current.answer:
            current.answer.append(line)
        else:
            current.text += "\n" + line  # a message of several lines (a survey's questions)
    for step in steps:
        if step.clock is None and not step.answer:
            raise ValueError(f"{name}:{step.line}: a message without the bot's answer (🤖 …)")
    return steps


def follows(documented: list[str], actual: list[str]) -> bool:
    """The documented lines after the first appear in ``actual`` in order (``……`` skips)."""
    rest = iter(actual)
    return all(any(line == seen for seen in rest) for line in documented if line != ELIDED)
