"""bot.py as it is, plus optional dummy feature plugins (for bench/command_burst.py).

BENCH_DUMMY_DIR names a folder of generated plugins; each registers its commands the way the
real features do (router tables) or, with BENCH_DUMMY_STYLE=matchers, the old way (a NoneBot
matcher per command), to show what each costs as features are added.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))

import nonebot  # noqa: E402
from nonebot.adapters.onebot.v11 import Adapter  # noqa: E402

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
