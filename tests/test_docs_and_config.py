"""The README, the shipped proxy config and CI agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from litellm_semcache.settings import SemCacheSettings, read_yaml_block

ROOT = Path(__file__).resolve().parent.parent
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
