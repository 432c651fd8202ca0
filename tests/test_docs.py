"""The README and config/.env.example document every setting the code has."""

from pathlib import Path

from dotenv import dotenv_values

from config import BranchConfig

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / "config" / ".env.example").read_text(encoding="utf-8")
    for name in BranchConfig.model_fields:
        assert f"`{name}`" in readme, name
        assert f"{name.upper()}=" in example, name


def test_env_example_values_are_valid_defaults():
    values = {k.lower(): v for k, v in dotenv_values(ROOT / "config" / ".env.example").items()
              if k.lower() in BranchConfig.model_fields}
    import json

    parsed = {k: json.loads(v) if v.startswith("[") else v for k, v in values.items()}
    assert BranchConfig(**parsed) == BranchConfig()
