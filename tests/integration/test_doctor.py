"""``litellm-semcache doctor`` on this machine: the real Redis Stack, model and shipped artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = 'litellm_settings:\n  callbacks: ["litellm_semcache.semantic_cache"]\n'


def _doctor(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "litellm_config.yaml"
    config.write_text(CONFIG)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("SEMCACHE_", "LITELLM_"))}
    child_env.pop("REDIS_URL", None)
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "litellm_semcache.cli", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=300,
        cwd=tmp_path,
    )


def test_everything_in_place_with_a_configured_redis(tmp_path: Path, redis_url: str) -> None:
    result = _doctor(
        tmp_path,
        REDIS_URL=redis_url,
        LITELLM_MASTER_KEY="sk-doctor-test",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in ("proxy config", "master key", "cost map", "redis", "RediSearch", "embedding model",
                  "learned verifier", "classifier"):  # fmt: skip
        assert any(line.startswith("ok") and f" {check} " in line for line in lines), (check, result.stdout)
    assert "everything the proxy and the cache need is in place" in result.stdout


def test_the_embedded_redis_is_tried_and_a_missing_master_key_fails(tmp_path: Path) -> None:
    result = _doctor(tmp_path, XDG_STATE_HOME=str(tmp_path / "state"))
    assert result.returncode == 1
    out = result.stdout
    assert "ok       libssl" in out and "ok       RediSearch" in out and "trial start" in out
    assert str(tmp_path / "state" / "litellm-semcache") in out  # this config's own state directory
    assert "PROBLEM  master key" in out and "export LITELLM_MASTER_KEY=" in out
    assert "warn     cost map" in out
    assert "1 problem" in out


@pytest.mark.parametrize("setting", ["learned_verifier", "cacheability_classifier"])
def test_a_model_switched_off_is_reported_as_off(tmp_path: Path, redis_url: str, setting: str) -> None:
    result = _doctor(
        tmp_path,
        REDIS_URL=redis_url,
        LITELLM_MASTER_KEY="sk-doctor-test",
        **{f"SEMCACHE_{setting.upper()}": "false"},
    )
    assert result.returncode == 0, result.stdout
    assert f"off ({setting}: false)" in result.stdout
