"""docker-compose.yml is checked against the proxy config (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def _env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def test_redis_stack_service_is_persistent_health_checked_and_password_protected() -> None:
    redis = _compose()["services"]["redis"]
    assert redis["image"].startswith("redis/redis-stack-server:")
    args = redis["environment"]["REDIS_ARGS"]
    assert "--appendonly yes" in args and "--requirepass" in args
    volume, target = redis["volumes"][0].split(":")[:2]
    assert target == "/data" and volume in _compose()["volumes"]
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_proxy_service_runs_the_plugin_with_the_mounted_config() -> None:
    compose = _compose()
    proxy = compose["services"]["litellm"]
    assert proxy["build"] == "."
    assert proxy["depends_on"]["redis"]["condition"] == "service_healthy"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in proxy["volumes"]}
    config_in_container = proxy["command"][proxy["command"].index("--config") + 1]
    assert mounts[config_in_container] == "./litellm_config.yaml"
    port = proxy["command"][proxy["command"].index("--port") + 1]
    assert any(mapping.endswith(f":{port}") for mapping in proxy["ports"])
    # The cache's Redis is the compose service, with the password the Redis service requires.
    url = proxy["environment"]["REDIS_URL"]
    assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD:-[^}]+\}@redis:6379/\d+", url), url
    config = yaml.safe_load((ROOT / "litellm_config.yaml").read_text())
    assert "litellm_semcache.semantic_cache" in config["litellm_settings"]["callbacks"]
    assert config["litellm_semcache"]["redis_url"] == "os.environ/REDIS_URL"


def test_keys_come_from_the_env_file_and_cover_the_config() -> None:
    proxy = _compose()["services"]["litellm"]
    assert proxy["env_file"] == ".env"
    example = _env_example()
    referenced = set(re.findall(r"os\.environ/([A-Z0-9_]+)", (ROOT / "litellm_config.yaml").read_text()))
    provided = set(example) | set(proxy["environment"])
    assert referenced <= provided, referenced - provided
    assert "LITELLM_MASTER_KEY" in example and "REDIS_PASSWORD" in example
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_image_installs_the_plugin_and_uses_the_mounted_config_path() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install torch" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    assert re.search(r'pip install "\.\[[^]]*offline-model[^]]*\]"', dockerfile)
    command = _compose()["services"]["litellm"]["command"]
    assert command[command.index("--config") + 1] in dockerfile
