"""The request's path and the write path, with no LiteLLM in sight.

    prepare:  format.parse → admission (rules, patterns) → scope
    lookup:   exact-id fast path → embed → cacheability classifier → vector search → verification → fetch
    store:    embed (reusing the lookup's vector) → cacheability classifier → put, with a TTL

An integration (``integrations/litellm``) turns its framework's requests into a :class:`Prepared`
request once, and hands it to :meth:`Pipeline.lookup` before the provider call and to
:meth:`Pipeline.store` after it. Nothing here raises into the caller: any failure is a miss (fail-open),
logged once per interval, behind a circuit breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .admission import Admission
from .admission.classifier import ClassDecision, ClassifierStage, classifier_text
from .admission.envelope import EnvelopeStage
from .embedding import Embedder, Embedding
from .errors import ConfigError, SemCacheError
from .formats import Format
from .ops.failsafe import CircuitBreaker, WarningThrottle
from .ops.metrics import Metrics, Pricer, tokens_only
from .scope import Scope, compute_scope, exact_entry_id
from .settings import SemCacheSettings
from .store import RedisStore, StoredEntry
from .types import Answer, Controls, Identity, Outcome, Refusal, Request, Skip
from .verification.decision import Verification

__all__ = ["MAX_STORED_QUERY_CHARS", "Pipeline", "Prepared", "prepare"]

logger = logging.getLogger("litellm_semcache")

_T = TypeVar("_T")

#: Longest question text kept in an entry (the exact-match id is a hash of the whole text).
MAX_STORED_QUERY_CHARS = 4000


@dataclass(frozen=True)
class Prepared:
    """A request the cache may handle, with its scope: computed once, used by lookup and store."""

    request: Request
    scope: Scope
    exempt: bool = False
    """An ``always_cache_patterns`` entry let it past the cacheability classifier."""


def prepare(
    format_: Format,
    body: Mapping[str, Any],
    settings: SemCacheSettings,
    *,
    admission: Admission | None = None,
    identity: Identity | None = None,
    controls: Controls | None = None,
    model: str = "",
    provider: str | None = None,
) -> Prepared | Outcome:
    """Parse, admit and scope a request; an :class:`Outcome` when the cache must stay out. No I/O."""
    parsed = format_.parse(body, settings)
    if isinstance(parsed, Skip):
        logger.debug("litellm-semcache: skipped (%s)", parsed.reason)
        return Outcome("skipped", parsed.reason)
    admission = admission or Admission.from_settings(settings)
    refused = admission.check(parsed)
    if refused is not None:
        logger.debug("litellm-semcache: not cacheable (%s)", refused.reason_text)
        return refused
    request = Request(parsed, identity or Identity(), controls or Controls(), model, provider)
    return Prepared(request, compute_scope(request, settings), admission.exempt(parsed))


class _Laps:
    """Times the steps of a lookup (a few perf_counter calls: cheap enough to always run)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self._last) * 1000.0
        self._last = now


def _load_classifier(settings: SemCacheSettings) -> tuple[ClassifierStage | None, str | None]:
    """The cacheability classifier, or why it is unavailable (then nothing is cached: fail closed)."""
    try:
        return ClassifierStage.from_settings(settings), None
    except ConfigError as exc:
        message = f"the cacheability classifier is unavailable ({exc}); nothing is cached"
        logger.warning("litellm-semcache: %s", message)
        return None, message


class Pipeline:
    """The semantic cache: admission, scope, embedding, vector search, verification, storage."""

    def __init__(
        self,
        settings: SemCacheSettings,
        *,
        redis_url: str,
        embedder: Embedder | None = None,
        store: RedisStore | None = None,
        pricer: Pricer = tokens_only,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.embedding_model,
            max_batch_size=settings.max_batch_size,
            max_query_tokens=settings.max_query_tokens,
            max_chars=settings.max_embedded_chars,
            runtime=settings.embedding_runtime,
        )
        self.entries = store or RedisStore(
            redis_url,
            settings.index_name,
            self.embedder.dimensions,
            datatype=settings.vector_dtype,
            timeout_seconds=settings.redis_timeout_seconds,
            hnsw_ef_runtime=settings.hnsw_ef_runtime,
        )
        self.admission = Admission.from_settings(settings)
        self.classifier, self.classifier_unavailable = _load_classifier(settings)
        self.envelope = EnvelopeStage(settings.sampling_envelope)
        self.verification = Verification.from_settings(settings)
        self.breaker = CircuitBreaker()
        self.warnings = WarningThrottle(logger)
        self.metrics = Metrics(self.entries.stats_key, pricer, self.entries.health_key)
        if self.verification.unavailable is not None:
            self.metrics.problem("verifier_unavailable", self.verification.unavailable)
        if self.classifier_unavailable is not None:
            self.metrics.problem("classifier_unavailable", self.classifier_unavailable)

    # --- prepare ----------------------------------------------------------------------------------------
    def prepare(
        self,
        format_: Format,
        body: Mapping[str, Any],
        *,
        identity: Identity | None = None,
        controls: Controls | None = None,
        model: str = "",
        provider: str | None = None,
    ) -> Prepared | Outcome:
        """Parse, admit and scope a request; an :class:`Outcome` when the cache must stay out."""
        return prepare(
            format_,
            body,
            self.settings,
            admission=self.admission,
            identity=identity,
            controls=controls,
            model=model,
            provider=provider,
        )

    # --- fail-open --------------------------------------------------------------------------------------
    async def _guarded(self, work: Coroutine[Any, Any, _T], topic: str) -> _T | None:
        """Run backend work behind the circuit breaker; None when skipped or failed."""
        if not self.breaker.allow():
            work.close()
            return None
        try:
            result = await work
        except (SemCacheError, asyncio.TimeoutError) as exc:
            if self.breaker.failure():
                self.warnings.warn(
                    "breaker",
                    "litellm-semcache: cache bypassed for %.0fs after repeated "
                    "failures; requests go to the provider",
                    self.breaker.cooldown_seconds,
                )
            self.warnings.warn(topic, "litellm-semcache: %s failed, serving uncached: %s", topic, exc)
            return None
        except Exception as exc:  # never let the cache break a request
            self.breaker.failure()
            self.warnings.warn(
                # The type only: an exception's text may quote the request.
                topic,
                "litellm-semcache: unexpected %s error, serving uncached: %s",
                topic,
                type(exc).__name__,
            )
            return None
        self.breaker.success()
        return result

    # --- lookup -----------------------------------------------------------------------------------------
    async def lookup(self, prepared: Prepared | Outcome) -> Outcome:
        """Find a stored answer for a prepared request, and count the outcome. Never raises."""
        if isinstance(prepared, Outcome):
            found = prepared
        else:
            laps = _Laps()
            result = await self._guarded(self._lookup(prepared, laps), "lookup")
            found = result if result is not None else Outcome("error", "backend_unavailable")
        self.record(found, prepared.request if isinstance(prepared, Prepared) else None)
        return found

    def record(self, found: Outcome, request: Request | None = None) -> None:
        """Count an outcome (and what a hit saved) in the shared metrics."""
        self.metrics.lookup(found.status, found.reason_text, found.similarity, found.score)
        if found.entry is not None:
            model = (request.model if request is not None else "") or found.entry.model
            self.metrics.saved_later(found.entry.usage_json, model, request.provider if request else None)
        self.metrics.flush_in_background(self.entries.client)

    async def _embed(self, text: str) -> Embedding | None:
        """The text's embedding; None when it took too long (the embedder is busy: this request goes on
        uncached, but a slow request is not a backend failure and never opens the breaker for others)."""
        try:
            return await asyncio.wait_for(self.embedder.embed(text), self.settings.embedding_timeout_seconds)
        except asyncio.TimeoutError:
            self.warnings.warn(
                "embedding_timeout", "litellm-semcache: an embedding timed out; served uncached"
            )
            return None

    async def _lookup(self, prepared: Prepared, laps: _Laps) -> Outcome:
        request, scope = prepared.request, prepared.scope
        controls = request.controls
        oldest = controls.max_age_seconds
        min_created_at = self.entries.now() - oldest if oldest is not None else None
        limit = request.parsed.max_answer_tokens

        if self.classifier_unavailable is not None:
            return Outcome("filtered", "classifier_unavailable", timings=laps.laps)

        def servable(entry: StoredEntry | None, since: float | None) -> bool:
            return (
                entry is not None
                and (since is None or entry.created_at >= since)
                and (limit is None or (entry.completion_tokens or 0) <= limit)
            )

        entry = await self.entries.get(exact_entry_id(scope, request.query))
        laps.lap("exact_get")
        # Without embedding only when admitted under today's classifier: the same text, the same decision.
        if (
            entry is not None
            and entry.admission == self._fingerprint(prepared)
            and servable(entry, min_created_at)
        ):
            return Outcome("hit", "exact", entry=entry, similarity=1.0, timings=laps.laps)

        embedding = await self._embed(request.query)
        laps.lap("embed")
        if embedding is None:
            return Outcome("miss", "embedding_timeout", timings=laps.laps)
        decision = await self._classify(prepared, embedding)
        laps.lap("classify")
        if decision is None:
            return Outcome("miss", "embedding_timeout", timings=laps.laps)
        if not decision.admitted:
            return Outcome(
                "filtered", "class", decision.label, timings=laps.laps, class_probability=decision.probability
            )
        if decision.ttl_seconds is not None:  # live answers: only minutes-old ones
            live_since = self.entries.now() - decision.ttl_seconds
            min_created_at = live_since if min_created_at is None else max(min_created_at, live_since)
        if entry is not None and servable(entry, min_created_at):  # admitted before, and admitted now
            return Outcome("hit", "exact", entry=entry, similarity=1.0, timings=laps.laps)
        if self.verification.unavailable is not None:
            return Outcome("miss", "verifier_unavailable", timings=laps.laps)
        if embedding.vector is None:
            return Outcome("miss", "query_too_long_for_embedding", timings=laps.laps)
        candidates = await self.entries.nearest(
            embedding.vector, scope.key, self.settings.top_k, min_created_at=min_created_at
        )
        laps.lap("knn")
        verdict = await self.verification.decide(
            request.query, candidates, gate=controls.threshold, max_answer_tokens=limit
        )
        laps.lap("verify")
        if verdict.hit is None:
            return Outcome(
                "miss",
                verdict.reason,
                verdict.detail,
                similarity=verdict.similarity,
                timings=laps.laps,
                score=verdict.score,
            )
        entry = await self.entries.get(verdict.hit.id)
        laps.lap("fetch")
        if entry is None:
            return Outcome("miss", "expired", similarity=verdict.similarity, timings=laps.laps)
        return Outcome(
            "hit",
            "semantic",
            entry=entry,
            similarity=verdict.similarity,
            timings=laps.laps,
            score=verdict.score,
        )

    # --- store ------------------------------------------------------------------------------------------
    async def store(self, prepared: Prepared, answer: Answer | Refusal) -> str | None:
        """Store a complete answer for a prepared request (a refusal is only counted); the entry id, or
        None when not stored."""
        envelope = self.envelope.decide(prepared.request.parsed)
        if not envelope.passed:
            answer = Refusal(envelope.reason, envelope.detail)  # type: ignore[arg-type]
        if isinstance(answer, Refusal):
            logger.debug("litellm-semcache: not storing (%s)", answer.text)
            self.metrics.stored(False, answer.text)
            return None
        # A client may ask for a shorter or longer life, never past the operator's maximum.
        ttl = min(
            prepared.request.controls.ttl_seconds or self.settings.ttl_seconds, self.settings.max_ttl_seconds
        )
        result = await self._guarded(self._store(prepared, answer, ttl), "store")
        entry_id = result if isinstance(result, str) else None
        self.metrics.stored(
            entry_id is not None, result.text if isinstance(result, Refusal) else "backend_unavailable"
        )
        self.metrics.flush_in_background(self.entries.client)
        return entry_id

    def _fingerprint(self, prepared: Prepared) -> str:
        """What an entry records of the admission that let it in."""
        if prepared.exempt:
            return "always_cache_patterns"
        return self.classifier.fingerprint if self.classifier is not None else "no_classifier"

    async def _classify(self, prepared: Prepared, embedding: Embedding) -> ClassDecision | None:
        """The cacheability decision for a prepared request (None: the embedding it needed timed out)."""
        query = prepared.request.query
        if prepared.exempt or self.classifier is None:
            return ClassDecision(True, "general" if prepared.exempt else "unclassified", 1.0)
        vector = embedding.vector
        if vector is None:  # too long to embed whole: the classifier reads its beginning
            prefix = await self._embed(classifier_text(query))
            vector = prefix.vector if prefix is not None else None
            if vector is None:
                return None if prefix is None else ClassDecision(False, "unreadable", 1.0)
        return self.classifier.decide(query, vector)

    async def _store(self, prepared: Prepared, answer: Answer, ttl: int) -> str | Refusal:
        request, scope = prepared.request, prepared.scope
        if self.classifier_unavailable is not None:
            return Refusal("classifier_unavailable")
        embedding = await self._embed(request.query)
        if embedding is None:
            return Refusal("embedding_timeout")
        decision = await self._classify(prepared, embedding)
        if decision is None:
            return Refusal("embedding_timeout")
        if not decision.admitted:
            return Refusal("class", decision.label)
        if decision.ttl_seconds is not None:
            ttl = min(ttl, decision.ttl_seconds)
        entry = StoredEntry(
            id=exact_entry_id(scope, request.query),
            query=request.query[:MAX_STORED_QUERY_CHARS],  # for listing and search; the id hashes it all
            response=answer.native,
            answer_id=answer.answer_id,
            model=answer.model,
            model_group=scope.model_group,
            namespace=scope.namespace,
            tenant=scope.tenant,
            scope=scope.key,
            created_at=self.entries.now(),
            completion_tokens=answer.completion_tokens,
            admission=self._fingerprint(prepared),
            # Format-neutral: the answer renders in every API format, not only the one it came in.
            answer_text=answer.text,
            finish=answer.finish,
            prompt_tokens=answer.prompt_tokens,
            format=answer.format,
        )
        await self.entries.put(entry, embedding.vector, ttl)
        return entry.id

    # --- housekeeping -----------------------------------------------------------------------------------
    async def ping(self) -> bool:
        """Whether the cache's Redis answers."""
        return bool(await self.entries.client().ping())

    async def close(self) -> None:
        """Close this loop's Redis connections."""
        await self.entries.close()
