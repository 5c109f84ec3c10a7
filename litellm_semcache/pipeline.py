"""The request's path and the write path, with no LiteLLM in sight.

    prepare:  policy → format.parse → admission (rules, patterns) → scope → mode (off, shadow, serve)
    lookup:   exact-id fast path → embed ∥ cacheability classifier → vector search → verification → fetch
    store:    embed → cacheability classifier (each reusing the lookup's result) → put, with a TTL
    compare:  a cached answer against a fresh one (shadow mode, audits) → counted; a failed audit deletes

An integration (``integrations/litellm``) turns its framework's requests into a :class:`Prepared`
request once, and hands it to :meth:`Pipeline.lookup` before the provider call and to
:meth:`Pipeline.store` after it. In shadow mode a hit is only a *would-be* hit (``Outcome.mode``): the
integration lets the request go to the provider and hands the fresh answer to :meth:`Pipeline.compare`
instead of storing it. For a sampled share of served hits (``Pipeline.auditor``) it asks the provider
again in the background and hands that answer to :meth:`Pipeline.audited`. Nothing here raises into
the caller: any failure is a miss (fail-open), logged once per interval, behind a circuit breaker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from .admission import Admission
from .admission.classifier import ClassDecision, ClassifierStage, classifier_text
from .admission.envelope import EnvelopeStage
from .admission.folding import readings
from .embedding import Embedder, Embedding
from .errors import ConfigError, SemCacheError
from .formats import Format, stored_answer
from .ops.audit import Auditor
from .ops.failsafe import CircuitBreaker, WarningThrottle
from .ops.metrics import Cell, Metrics, Pricer, tokens_only
from .policies import DEFAULT_POLICY, Policy, effective_settings, select_policy
from .scope import Scope, compute_scope, exact_entry_id
from .settings import SemCacheSettings
from .store import RedisStore, StoredEntry
from .types import Answer, Controls, Identity, Mode, Outcome, Refusal, Request, Skip
from .verification.answers import AnswerComparator, Comparison
from .verification.decision import Verification

__all__ = ["MAX_STORED_QUERY_CHARS", "Pipeline", "Prepared", "mode_of", "prepare"]

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
    mode: Mode = "serve"
    """``serve`` or ``shadow`` (an ``off`` request is never prepared: the cache stays out of it)."""
    policy: str = DEFAULT_POLICY
    """The policy the request falls under; its settings decide the lookup and the store."""
    exact_only: bool = False
    """The policy serves exact repeats only (``mode: exact_only``)."""


#: How careful each mode is: a request may only move down this order, never up.
_CAUTION: dict[Mode, int] = {"off": 0, "shadow": 1, "serve": 2}


def mode_of(request: Request, scope: Scope, settings: SemCacheSettings) -> Mode:
    """The request's mode: the namespace's (``namespace_modes``) or the deployment's (``mode``), unless
    the request asks for a more careful one (``cache.mode``). A client never turns serving on."""
    configured = settings.namespace_modes.get(scope.namespace, settings.mode)
    asked = request.controls.mode
    if asked is not None and _CAUTION[asked] < _CAUTION[configured]:
        return asked
    return configured


def policy_of(identity: Identity, controls: Controls, settings: SemCacheSettings) -> Policy | None:
    """The policy a request falls under (None: the block's own settings)."""
    if not settings.policies:
        return None
    return select_policy(
        settings.policies,
        tags=identity.policy_tags,
        model_group=identity.model_group,
        team=identity.team,
        team_alias=identity.team_alias,
        key_alias=identity.key_alias,
        namespace=controls.namespace or settings.namespace or "default",
    )


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
    policy_settings: Mapping[str, SemCacheSettings] | None = None,
) -> Prepared | Outcome:
    """Parse, admit and scope a request; an :class:`Outcome` when the cache must stay out. No I/O.

    ``policy_settings``: each policy's effective settings, computed once (else computed here)."""
    identity, controls = identity or Identity(), controls or Controls()
    policy = policy_of(identity, controls, settings)
    name = policy.name if policy is not None else DEFAULT_POLICY
    effective = settings
    if policy is not None:
        known = policy_settings.get(name) if policy_settings is not None else None
        effective = known if known is not None else effective_settings(settings, policy)
    parsed = format_.parse(body, effective)
    if isinstance(parsed, Skip):
        logger.debug("litellm-semcache: skipped (%s)", parsed.reason)
        return Outcome("skipped", parsed.reason, policy=name)
    admission = admission or Admission.from_settings(settings)
    refused = admission.check(parsed)
    if refused is not None:
        logger.debug("litellm-semcache: not cacheable (%s)", refused.reason_text)
        return replace(refused, policy=name)
    request = Request(parsed, identity, controls, model, provider)
    scope = compute_scope(request, effective, name)
    mode = mode_of(request, scope, effective)
    if mode == "off":
        logger.debug("litellm-semcache: skipped (mode off)")
        return Outcome("skipped", "mode_off", policy=name)
    exact_only = policy is not None and policy.mode == "exact_only"
    return Prepared(request, scope, admission.exempt(parsed), mode, name, exact_only)


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


@dataclass(frozen=True)
class _Runtime:
    """What a policy changes on the request path: its settings, gates and classifier."""

    settings: SemCacheSettings
    verification: Verification
    classifier: ClassifierStage | None
    classifier_unavailable: str | None


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
        self.comparator = AnswerComparator(self.embedder, settings.answer_agreement_threshold)
        self.auditor = Auditor(settings.audit_rate, settings.audit_concurrency)
        if self.verification.unavailable is not None:
            self.metrics.problem("verifier_unavailable", self.verification.unavailable)
        if self.classifier_unavailable is not None:
            self.metrics.problem("classifier_unavailable", self.classifier_unavailable)
        self.runtimes = {
            DEFAULT_POLICY: _Runtime(
                settings, self.verification, self.classifier, self.classifier_unavailable
            ),
            **{policy.name: self._runtime_for(policy) for policy in settings.policies},
        }
        self.policy_settings = {name: runtime.settings for name, runtime in self.runtimes.items()}

    def _runtime_for(self, policy: Policy) -> _Runtime:
        """A policy's settings, with the default's models reused where its settings leave them alone."""
        settings = effective_settings(self.settings, policy)
        gates = ("target_precision", "similarity_threshold", "verifier_threshold", "calibration_profile")
        verification = self.verification
        if any(getattr(settings, f) != getattr(self.settings, f) for f in gates):
            verification = Verification.from_settings(settings, learned=self.verification.learned)
            problem = verification.unavailable
            if problem is not None and problem != self.verification.unavailable:
                # e.g. its own profile is for another verifier: this policy's semantic hits are off only
                self.metrics.problem(f"verifier_unavailable:{policy.name}", problem)
        classifier, unavailable = self.classifier, self.classifier_unavailable
        classes = ("keep_out_classes", "live_ttl_seconds", "cacheability_calibration")
        if classifier is not None and any(getattr(settings, f) != getattr(self.settings, f) for f in classes):
            try:
                classifier = classifier.with_policy(settings)
            except ConfigError as exc:  # this use case caches nothing; the others are unaffected
                unavailable = f"policy {policy.name}: the cacheability classifier is unavailable ({exc}); "
                unavailable += "nothing is cached under it"
                logger.warning("litellm-semcache: %s", unavailable)
                self.metrics.problem(f"classifier_unavailable:{policy.name}", unavailable)
                classifier = None
        return _Runtime(settings, verification, classifier, unavailable)

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
            policy_settings=self.policy_settings,
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
        if isinstance(result, Refusal):
            # Refused before any write (class, embedding timeout): Redis was never reached. Counting it a
            # success would reset the failures of the lookups around it, so a frozen Redis would cost
            # every request its timeout and the breaker would never open.
            self.breaker.neutral()
        else:
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
            if prepared.mode == "shadow" and found.status in ("hit", "miss"):
                found = replace(found, mode="shadow")
            found = replace(found, policy=prepared.policy)
        self.record(found, prepared if isinstance(prepared, Prepared) else None)
        return found

    def cell(self, scope: Scope | StoredEntry | None) -> Cell | None:
        """The (namespace, tenant) per-tenant counters are kept for; None when they are switched off."""
        if scope is None or not self.settings.tenant_metrics:
            return None
        return scope.namespace, scope.tenant

    def record(self, found: Outcome, prepared: Prepared | Request | None = None) -> None:
        """Count an outcome (and what a served hit saved) in the shared metrics."""
        request = prepared.request if isinstance(prepared, Prepared) else prepared
        scope = prepared.scope if isinstance(prepared, Prepared) else None
        self.metrics.lookup(
            found.status,
            found.reason_text,
            found.similarity,
            found.score,
            shadow=found.mode == "shadow",
            cell=self.cell(scope),
            policy=found.policy if self.settings.policies else None,
        )
        if found.entry is not None and found.mode == "serve":
            model = (request.model if request is not None else "") or found.entry.model
            self.metrics.saved_later(
                found.entry.usage_json,
                model,
                request.provider if request else None,
                fallback_model=found.entry.model,  # the model that answered, as its provider named it
            )
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
        runtime = self.runtimes[prepared.policy]
        controls = request.controls
        oldest = controls.max_age_seconds
        min_created_at = self.entries.now() - oldest if oldest is not None else None
        limit = request.parsed.max_answer_tokens

        if runtime.classifier_unavailable is not None:
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

        embedding, decision = await self._embed_and_classify(prepared, laps)
        if embedding is None or decision is None:
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
        if prepared.exact_only:
            return Outcome("miss", "exact_only", timings=laps.laps)
        if runtime.verification.unavailable is not None:
            return Outcome("miss", "verifier_unavailable", timings=laps.laps)
        if embedding.vector is None:
            return Outcome("miss", "query_too_long_for_embedding", timings=laps.laps)
        candidates = await self.entries.nearest(
            embedding.vector, scope.key, runtime.settings.top_k, min_created_at=min_created_at
        )
        laps.lap("knn")
        verdict = await runtime.verification.decide(
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
        # A client may ask for a shorter or longer life, never past the operator's (or policy's) maximum.
        settings = self.runtimes[prepared.policy].settings
        ttl = min(prepared.request.controls.ttl_seconds or settings.ttl_seconds, settings.max_ttl_seconds)
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
        classifier = self.runtimes[prepared.policy].classifier
        return classifier.fingerprint if classifier is not None else "no_classifier"

    async def _embed_and_classify(
        self, prepared: Prepared, laps: _Laps
    ) -> tuple[Embedding | None, ClassDecision | None]:
        """The question's embedding and its cacheability decision (None: the embedding timed out).

        A classifier that reads the words runs in its own thread beside the embedder's: the hit path waits
        for the slower of the two, not their sum.
        """
        classifier = self.runtimes[prepared.policy].classifier
        if classifier is None or classifier.reads_vector or prepared.exempt:
            embedding = await self._embed(prepared.request.query)
            laps.lap("embed")
            if embedding is None:
                return None, None
            decision = await self._classify(prepared, embedding)
            laps.lap("classify")
            return embedding, decision
        classifying = asyncio.ensure_future(self._classify(prepared, None))
        # Abandoned when the embedding fails: its own failure, if any, is then nobody's to report.
        classifying.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            embedding = await self._embed(prepared.request.query)
        except BaseException:
            classifying.cancel()
            raise
        laps.lap("embed")
        if embedding is None:
            classifying.cancel()
            return None, None
        decision = await classifying
        laps.lap("classify")
        return embedding, decision

    async def _classify(self, prepared: Prepared, embedding: Embedding | None) -> ClassDecision | None:
        """The cacheability decision for a prepared request (None: the embedding it needed timed out).

        ``embedding`` may be None only for a classifier that reads the words.
        """
        query = prepared.request.query
        classifier = self.runtimes[prepared.policy].classifier
        if prepared.exempt or classifier is None:
            return ClassDecision(True, "general" if prepared.exempt else "unclassified", 1.0)
        if not classifier.reads_vector:
            decision = await classifier.decide(query)
            # Hidden characters (zero-width, look-alike letters) change the tokens, not the meaning: the
            # text as a reader sees it must be admitted too. Only what the model reads is folded (on the
            # event loop: folding a 150 kB prompt whole took ~0.1 s).
            read = classifier_text(query)
            for reading in readings(read) if decision.admitted and not read.isascii() else ():
                if reading != read and not (folded := await classifier.decide(reading)).admitted:
                    return folded
            return decision
        assert embedding is not None
        vector = embedding.vector
        if vector is None:  # too long to embed whole: the classifier reads its beginning
            prefix = await self._embed(classifier_text(query))
            vector = prefix.vector if prefix is not None else None
            if vector is None:
                return None if prefix is None else ClassDecision(False, "unreadable", 1.0)
        decision = await classifier.decide(query, vector)
        # Hidden characters (zero-width, look-alike letters) change the embedding, not the meaning: the
        # text as a reader sees it must be admitted too. Costs an embedding only for such texts.
        for reading in readings(query) if decision.admitted and not query.isascii() else ():
            if reading == query:
                continue
            seen = await self._embed(reading)
            if seen is None:
                return None
            if seen.vector is not None:
                folded = await classifier.decide(reading, seen.vector)
                if not folded.admitted:
                    return folded
        return decision

    async def _store(self, prepared: Prepared, answer: Answer, ttl: int) -> str | Refusal:
        request, scope = prepared.request, prepared.scope
        if self.runtimes[prepared.policy].classifier_unavailable is not None:
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

    # --- knowing before serving: comparisons, audits, invalidation -----------------------------------------
    async def compare(
        self, entry: StoredEntry, fresh: Answer | Refusal, *, source: Literal["shadow", "audit"]
    ) -> Comparison | None:
        """Compare an entry's answer with a fresh one from the provider and count the verdict (per
        namespace and tenant too); a disagreeing audit deletes the entry at once. None when the two cannot
        be compared (the fresh answer is incomplete, a tool call, or the model failed). Never raises."""
        cached = stored_answer(entry, self.settings)
        if isinstance(fresh, Refusal) or cached is None or not fresh.text or not cached.text:
            self.metrics.compared(source, "uncomparable")
            self.metrics.flush_in_background(self.entries.client)
            return None
        try:
            comparison = await self.comparator.acompare(cached.text, fresh.text)
        except Exception as exc:  # never let a comparison break anything; the type only (no text)
            name = type(exc).__name__
            self.warnings.warn("compare", "litellm-semcache: answer comparison failed: %s", name)
            self.metrics.compared(source, "uncomparable")
            self.metrics.flush_in_background(self.entries.client)
            return None
        self.metrics.compared(source, "agreed" if comparison.agree else "disagreed", self.cell(entry))
        logger.debug(
            "litellm-semcache: %s comparison of entry %s: %s (%s, similarity %.3f)",
            source,
            entry.id,
            comparison.verdict,
            comparison.reason,
            comparison.similarity,
        )
        if source == "audit" and not comparison.agree:
            await self._guarded(self.invalidate([entry.id], "audit"), "invalidate")
        self.metrics.flush_in_background(self.entries.client)
        return comparison

    async def audited(
        self,
        entry: StoredEntry,
        fresh: Answer | Refusal | None,
        *,
        tokens: tuple[int, int] = (0, 0),
        model: str = "",
        provider: str | None = None,
    ) -> Comparison | None:
        """Count an audit: its spend (``tokens`` = prompt and completion tokens of the provider's answer,
        priced like savings), and how the comparison came out; ``fresh`` None: the provider call failed."""
        if any(tokens):
            usage = json.dumps({"usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}})
            self.metrics.spent_later(usage, model or entry.model, provider)
        if fresh is None:
            self.metrics.audit("failed")
            self.metrics.flush_in_background(self.entries.client)
            return None
        comparison = await self.compare(entry, fresh, source="audit")
        if comparison is None:
            self.metrics.audit("uncomparable")
        else:
            self.metrics.audit("agreed" if comparison.agree else "disagreed")
        return comparison

    async def invalidate(self, entry_ids: Iterable[str], reason: str) -> int:
        """Delete entries found wrong (``audit``, ``feedback``, ``api_delete``); how many existed.

        Raises:
            BackendUnavailable: Redis did not answer (the caller decides whether that is an error).
        """
        deleted = await self.entries.delete(list(entry_ids))
        if deleted:
            self.metrics.invalidated(reason, deleted)
            self.metrics.flush_in_background(self.entries.client)
        return deleted

    # --- housekeeping -----------------------------------------------------------------------------------
    async def ping(self) -> bool:
        """Whether the cache's Redis answers."""
        return bool(await self.entries.client().ping())

    async def close(self) -> None:
        """Close this loop's Redis connections."""
        await self.entries.close()
