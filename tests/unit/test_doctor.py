"""``litellm-semcache doctor``: each check says ok or what is missing and what to do."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from litellm_semcache.cli import doctor
from litellm_semcache.cli.doctor import (
    check_cost_map,
    check_master_key,
    check_proxy_config,
    check_search_module,
)
from litellm_semcache.cli.main import describe_age
from litellm_semcache.settings import SemCacheSettings


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "litellm_config.yaml"
    path.write_text(text)
    return str(path)


def test_the_proxy_config_must_load_the_plugin_and_not_litellms_own_cache(tmp_path: Path) -> None:
    plugin = 'litellm_settings:\n  callbacks: ["litellm_semcache.semantic_cache"]\n'
    assert check_proxy_config(_config(tmp_path, plugin)).status == "ok"
    missing = check_proxy_config(_config(tmp_path, "litellm_settings:\n  callbacks: []\n"))
    assert missing.status == "problem" and "callbacks" in (missing.fix or "")
    both = check_proxy_config(_config(tmp_path, plugin + "  cache: true\n"))
    assert both.status == "problem" and "cache: true" in (both.fix or "")
    assert check_proxy_config(None).status == "warn"
    assert check_proxy_config(str(tmp_path / "absent.yaml")).status == "problem"


def test_the_master_key_is_needed_and_must_not_be_a_known_one(tmp_path: Path) -> None:
    unset = check_master_key({})
    assert unset.status == "problem" and "LITELLM_MASTER_KEY" in (unset.fix or "")
    assert check_master_key({"LITELLM_MASTER_KEY": "  "}).status == "problem"
    assert check_master_key({"LITELLM_MASTER_KEY": "sk-1234"}).status == "problem"  # LiteLLM refuses it
    assert check_master_key({"LITELLM_MASTER_KEY": "sk-a1b2c3d4e5"}).status == "ok"
    in_config = _config(tmp_path, "general_settings:\n  master_key: os.environ/MY_KEY\n")
    assert check_master_key({"MY_KEY": "sk-a1b2c3d4e5"}, in_config).status == "ok"
    assert check_master_key({}, in_config).status == "problem"


def test_the_local_cost_map_is_advised_not_needed() -> None:
    assert check_cost_map({"LITELLM_LOCAL_MODEL_COST_MAP": "True"}).status == "ok"
    unset = check_cost_map({})
    assert unset.status == "warn" and unset.fix == "export LITELLM_LOCAL_MODEL_COST_MAP=True"


def test_redisearch_must_be_loaded_and_at_least_2_10() -> None:
    assert check_search_module([{b"name": b"search", b"ver": 21005}], "x").detail.startswith(
        "RediSearch 2.10.5"
    )
    assert check_search_module([{b"name": b"search", b"ver": 20812}], "x").status == "problem"
    assert check_search_module([{b"name": b"ReJSON", b"ver": 20809}], "x").status == "problem"


def test_a_missing_libssl_is_a_problem_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(doctor, "LIBSSL", "libssl-that-is-not-here.so.9")
    findings = doctor.check_redis(SemCacheSettings(state_dir=tmp_path / "state"))
    libssl = next(f for f in findings if f.check == "libssl")
    assert libssl.status == "problem" and "install-system-deps" in (libssl.fix or "")


def test_an_unreachable_redis_is_a_problem_and_the_exit_status_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:secret@127.0.0.1:9/0")  # nothing listens on port 9
    for check in (
        "check_embedding_model",
        "check_learned_verifier",
        "check_classifier",
    ):  # slow, tested elsewhere
        monkeypatch.setattr(doctor, check, lambda settings: doctor.Finding("skipped", "ok", ""))
    environ = {"LITELLM_MASTER_KEY": "sk-a1b2c3d4e5", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    plugin = _config(tmp_path, 'litellm_settings:\n  callbacks: ["litellm_semcache.semantic_cache"]\n')
    status = doctor.run_doctor(argparse.Namespace(index=None), plugin, environ)
    out = capsys.readouterr().out
    assert status == 1
    assert "PROBLEM  redis" in out and "redis://127.0.0.1:9/0 does not answer" in out
    assert "secret" not in out  # the password never reaches the terminal


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "just now"),
        (1, "1 second ago"),
        (59, "59 seconds ago"),
        (60, "1 minute ago"),
        (12 * 60 + 5, "12 minutes ago"),
        (3 * 3600, "3 hours ago"),
        (86400 * 2.5, "2 days ago"),
    ],
)
def test_ages_read_as_words(seconds: float, text: str) -> None:
    assert describe_age(seconds) == text


def test_a_policys_own_verifier_profile_is_checked(tmp_path: Path) -> None:
    import json

    from litellm_semcache.policies import Policy, PolicyMatch
    from litellm_semcache.verification.profile import CalibrationProfile

    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({**CalibrationProfile.load().model_dump(), "verifier": "0.0.1"}))
    assert doctor.check_learned_verifier(SemCacheSettings()).status == "ok"
    policy = Policy(name="legal", match=PolicyMatch(model_groups=["legal"]), calibration_profile=stale)
    found = doctor.check_learned_verifier(SemCacheSettings(policies=[policy]))
    assert (
        found.status == "problem"
        and found.detail.startswith("policy legal:")
        and "recalibrate" in found.detail
    )
    assert "policy legal's calibration_profile" in (found.fix or "")
