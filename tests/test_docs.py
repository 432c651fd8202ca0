"""The documentation: every setting with its default in the operator's manual, the developers'
guide and config/.env.example; a short README that links to each manual; no dead link."""

import json
import re
from pathlib import Path

from dotenv import dotenv_values

from config import BranchConfig

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
OPS = DOCS / "部署与运维.md"
DEV = DOCS / "development.md"
MANUALS = ("书记手册.md", "同学指南.md", "部署与运维.md", "development.md")
README_LIMIT = 15 * 1024


def shown_default(name: str) -> str:
    """A setting's default as the operator's table writes it."""
    value = getattr(BranchConfig(), name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) or name == "activity_kinds":
        return "、".join(value)
    if isinstance(value, dict):
        return json.dumps({k: int(v) if float(v).is_integer() else v for k, v in value.items()},
                          ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value != "" else "（空）"


def table_rows(path: Path) -> dict[str, list[str]]:
    """Markdown table rows whose first cell is a `code` name: name -> the other cells."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_the_operators_table_has_every_setting_with_its_default():
    rows = table_rows(OPS)
    for name in BranchConfig.model_fields:
        assert name.upper() in rows, f"{name.upper()} missing from {OPS.name}"
        default, meaning = rows[name.upper()][0], rows[name.upper()][1]
        assert default == shown_default(name), (name, default, shown_default(name))
        assert meaning, name
    unknown = {r for r in rows if r.isupper() and r.lower() not in BranchConfig.model_fields}
    assert unknown <= {"HOST", "PORT", "ONEBOT_ACCESS_TOKEN", "ONEBOT_SECRET", "SUPERUSERS",
                       "LOG_LEVEL", "HOST`、`PORT"}, unknown


def test_the_developers_table_and_the_env_example_have_every_setting():
    rows = table_rows(DEV)
    example = (ROOT / "config" / ".env.example").read_text(encoding="utf-8")
    for name in BranchConfig.model_fields:
        assert name in rows, f"`{name}` missing from the configuration table of {DEV.name}"
        assert f"{name.upper()}=" in example, name


def test_env_example_values_are_valid_defaults():
    values = {k.lower(): v for k, v in dotenv_values(ROOT / "config" / ".env.example").items()
              if k.lower() in BranchConfig.model_fields}
    parsed = {k: json.loads(v) if v.startswith("[") else v for k, v in values.items()}
    assert BranchConfig(**parsed) == BranchConfig()


def test_the_readme_is_short_and_links_to_each_manual():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < README_LIMIT
    for manual in MANUALS:
        assert f"](docs/{manual})" in readme, manual


def _slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", path.read_text(encoding="utf-8"))  # no code blocks
    return {_slug(m.group(1)) for m in re.finditer(r"(?m)^#{1,6} (.+)$", text)}


def test_no_dead_link_between_the_documents():
    for page in [ROOT / "README.md", *(DOCS / m for m in MANUALS)]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # an address outside the repository
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{page.name}: {target}"
