"""bot.py as it is, plus optional dummy feature plugins (for bench/command_burst.py) and an
optional tracemalloc hook (for bench/memory_growth.py).

BENCH_DUMMY_DIR names a folder of generated plugins; each registers its commands the way the
real features do (router tables) or, with BENCH_DUMMY_STYLE=matchers, the old way (a NoneBot
matcher per command), to show what each costs as features are added. BENCH_TRACEMALLOC names a
folder: the bot traces allocations and writes a snapshot there on each SIGUSR1
(``first.snapshot``, then ``last.snapshot``).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))

if os.environ.get("BENCH_TRACEMALLOC"):
    import pickle
    import signal
    import tracemalloc

    tracemalloc.start(12)
    _snapshots = iter(("first", "last"))

    def _dump(*_) -> None:
        target = Path(os.environ["BENCH_TRACEMALLOC"]) / f"{next(_snapshots)}.snapshot"
        snap = tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__),))
        partial = target.with_suffix(".partial")
        with partial.open("wb") as f:
            pickle.dump(snap, f)
        partial.rename(target)

    signal.signal(signal.SIGUSR1, _dump)

import nonebot  # noqa: E402

from runtime.adapter import Adapter  # noqa: E402

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)
nonebot.load_from_toml("pyproject.toml")
if os.environ.get("BENCH_DUMMY_DIR"):
    # by module name: NoneBot loads plugin folders only from under the working directory
    dummies = Path(os.environ["BENCH_DUMMY_DIR"])
    sys.path.insert(0, str(dummies))
    for module in sorted(dummies.glob("bench_dummy_*.py")):
        nonebot.load_plugin(module.stem)

if __name__ == "__main__":
    nonebot.run()
