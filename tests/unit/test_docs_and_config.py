"""The README, the shipped proxy config and CI agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from litellm_semcache.settings import SemCacheSettings, read_yaml_block

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_configuration_reference() -> None:
    section = README.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == set(SemCacheSettings.model_fields)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_section = README.split("## Test it", 1)[1].split("\n## ", 1)[0]
    command = re.search(r"```bash\n(.+?)\n```", test_section, flags=re.DOTALL)
    assert command is not None
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"exec {command.group(1).strip()}" in ci


def test_shipped_proxy_config_loads_the_plugin_with_two_providers_and_a_keyless_group() -> None:
    config = yaml.safe_load((ROOT / "litellm_config.yaml").read_text())
    assert "litellm_semcache.semantic_cache" in config["litellm_settings"]["callbacks"]
    assert "cache" not in config["litellm_settings"]  # it would replace the semantic cache
    providers = {m["litellm_params"]["model"].split("/")[0] for m in config["model_list"]}
    assert {"openai", "anthropic"} <= providers
    assert any("mock_response" in m["litellm_params"] for m in config["model_list"])
    block = read_yaml_block(ROOT / "litellm_config.yaml")
    settings = SemCacheSettings(**block)
    assert settings.redis_url is None  # REDIS_URL unset here: the embedded default


def test_the_readme_layout_table_matches_the_package_tree() -> None:
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[^|]+`) \|", section, flags=re.MULTILINE)
    documented = {
        name.split("/", 1)[0] + "/" if "/" in name else name
        for row in rows
        for name in re.findall(r"`([^`]+)`", row)
    }
    package = ROOT / "litellm_semcache"
    tree = {
        f"{path.name}/" if path.is_dir() else path.name
        for path in package.iterdir()
        if path.name not in {"__init__.py", "__pycache__", "py.typed", "artifacts"}
    }
    assert documented == tree
    for folder in (name for name in tree if name.endswith("/")):
        for module in (package / folder).rglob("*.py"):
            if module.name not in {"__init__.py", "__main__.py"}:
                assert f"`{module.name}`" in section, f"{folder}{module.name} is not in the layout table"
