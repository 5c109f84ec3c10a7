"""Settings: one typed model, from the proxy's YAML block and the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from litellm_semcache.errors import ConfigError
from litellm_semcache.settings import (
    DEFAULT_NEVER_CACHE_PATTERNS,
    SemCacheSettings,
    default_state_dir,
    load_settings,
)


def test_defaults() -> None:
    settings = SemCacheSettings()
    assert settings.redis_url is None
    # the operator's knob is a precision; the gates come from the calibration profile (benchmarks/quality.py)
    assert settings.target_precision == 0.98 and settings.learned_verifier
    assert settings.similarity_threshold is None and settings.verifier_threshold is None
    assert settings.contrast_guard and not settings.answer_vote and settings.top_k == 10
    assert settings.ttl_seconds == 86400
    assert settings.scope == "global"
    assert settings.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert list(DEFAULT_NEVER_CACHE_PATTERNS) == settings.never_cache_patterns


@pytest.mark.parametrize("threshold", [-0.1, 1.01, 2])
def test_threshold_outside_0_1_is_refused_with_the_field_named(threshold: float) -> None:
    with pytest.raises(ConfigError, match="similarity_threshold"):
        load_settings(similarity_threshold=threshold)
    with pytest.raises(ConfigError, match="verifier_threshold"):
        load_settings(verifier_threshold=threshold)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ttl_seconds", 0),
        ("scope", "per_user"),
        ("isolation", "org"),
        ("never_cache_patterns", ["  "]),
        ("index_name", "bad name*"),
        ("unknown_setting", 1),
    ],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    overrides: dict[str, Any] = {field: value}  # keyword overrides only, never config_path
    with pytest.raises(ConfigError, match=field):
        load_settings(**overrides)


def test_yaml_block_is_read(tmp_path: Path) -> None:
    config = tmp_path / "litellm_config.yaml"
    config.write_text(
        "model_list: []\n"
        "litellm_semcache:\n"
        "  similarity_threshold: 0.88\n"
        "  scope: model_group\n"
        "  ttl_seconds: 60\n"
        "  extra_never_cache_patterns: ['my invoice']\n"
    )
    settings = load_settings(config)
    assert settings.similarity_threshold == 0.88
    assert settings.scope == "model_group"
    assert settings.ttl_seconds == 60
    assert settings.extra_never_cache_patterns == ["my invoice"]


def test_environment_overrides_yaml_and_redis_url_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("litellm_semcache:\n  similarity_threshold: 0.88\n  redis_url: redis://yaml:6379\n")
    monkeypatch.setenv("SEMCACHE_SIMILARITY_THRESHOLD", "0.95")
    monkeypatch.setenv("REDIS_URL", "redis://env:6379")
    settings = load_settings(config)
    assert settings.similarity_threshold == 0.95
    assert settings.redis_url == "redis://env:6379"


def test_os_environ_references_in_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "litellm_semcache:\n  redis_url: os.environ/MY_REDIS\n  namespace: os.environ/UNSET_NS\n"
    )
    monkeypatch.setenv("MY_REDIS", "rediss://:pw@cache.example:6380/0")
    settings = load_settings(config)
    assert settings.redis_url == "rediss://:pw@cache.example:6380/0"
    assert settings.namespace is None  # an unset reference falls back to the default


def test_a_config_without_the_block_gives_defaults(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model_list: []\n")
    settings = load_settings(config)
    assert settings.model_dump(exclude={"state_dir"}) == SemCacheSettings().model_dump(exclude={"state_dir"})
    assert settings.state_dir == default_state_dir(config)  # the embedded Redis of this config file


def test_unreadable_or_misshapen_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("litellm_semcache: [1, 2]\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(bad)


# --- the embedded Redis Stack's state directory: one per deployment --------------------------------------
def test_the_default_state_directory_is_one_per_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    for project in ("shop", "docs"):
        (tmp_path / project).mkdir()
        (tmp_path / project / "litellm_config.yaml").write_text("litellm_semcache: {}\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "shop" / "litellm_config.yaml")
    monkeypatch.chdir(tmp_path / "shop")

    shop = load_settings(tmp_path / "shop" / "litellm_config.yaml").state_dir
    assert shop.parent == tmp_path / "xdg" / "litellm-semcache" and shop.name.startswith("shop-")
    assert load_settings("litellm_config.yaml").state_dir == shop  # relative, from the project folder
    assert load_settings(tmp_path / "link.yaml").state_dir == shop  # the same file by another path
    assert load_settings(tmp_path / "docs" / "litellm_config.yaml").state_dir != shop
    assert load_settings().state_dir == SemCacheSettings().state_dir != shop  # no file: the working dir


def test_an_explicit_state_directory_wins_and_is_how_two_configs_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    for project in ("shop", "docs"):
        (tmp_path / project).mkdir()
        (tmp_path / project / "litellm_config.yaml").write_text(f"litellm_semcache:\n  state_dir: {shared}\n")
    assert {load_settings(tmp_path / p / "litellm_config.yaml").state_dir for p in ("shop", "docs")} == {
        shared
    }
    monkeypatch.setenv("SEMCACHE_STATE_DIR", str(tmp_path / "env"))
    assert load_settings(tmp_path / "shop" / "litellm_config.yaml").state_dir == tmp_path / "env"
    assert load_settings(None, state_dir=str(tmp_path / "arg")).state_dir == tmp_path / "arg"
