"""Follow-ups to Responses hits the provider never saw: ``previous_response_id`` naming a cached response.

A Responses hit built from another API's answer gets an id of the cache's own (``resp_semcache_<hex>``)
and a record in Redis of what it continued: the asker's ``input``, the history that input continued
(its own ``previous_response_id``), the answer, and the tenant it was served to. A follow-up naming that
id is rewritten in the pre-call hook, before LiteLLM routes it, into one the provider can answer: the
recorded input, the answer as an assistant message and the follow-up's input, continuing the recorded
history (or none). Only the tenant the response was served to can continue it.

LiteLLM's own response-id handling is respected: the proxy hands clients an encrypted form of every
response id (``ResponsesIDSecurity``) and decrypts (and authorizes) ``previous_response_id`` in its own
pre-call hook, which may run before or after this one. The record keeps the client-facing form of the
continued id, so LiteLLM's check applies to it as to any id, whichever hook runs first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...formats.responses import CACHED_RESPONSE_PREFIX, continuation_of, continued
from ...scope import tenant_of
from ...settings import SemCacheSettings
from .requests import identity_of

__all__ = ["cached_response_id", "expand_follow_up", "hit_record"]

logger = logging.getLogger("litellm_semcache")

#: Where LiteLLM's response-id check keeps the id the client sent (``litellm.types.utils``).
ADDRESSED_ID_FIELD = "_litellm_addressed_response_id"


def _decrypted(response_id: str) -> str:
    """The id a client-facing (possibly encrypted) response id stands for, by LiteLLM's own decoder."""
    try:
        from litellm.proxy.hooks.responses_id_security import decrypted_response_id
    except ImportError:  # the SDK without the proxy: ids are never encrypted
        return response_id
    try:
        return decrypted_response_id(response_id)
    except Exception:  # not one of LiteLLM's: as sent
        return response_id


def cached_response_id(data: Mapping[str, Any]) -> str | None:
    """The cache's own response id a Responses request continues, if it names one."""
    sent = data.get("previous_response_id")
    if not isinstance(sent, str) or not sent:
        return None
    original = sent if sent.startswith(CACHED_RESPONSE_PREFIX) else _decrypted(sent)
    return original if original.startswith(CACHED_RESPONSE_PREFIX) else None


def hit_record(kwargs: Mapping[str, Any], answer_text: str, tenant: str) -> dict[str, Any]:
    """What a follow-up to a Responses hit continues, with the continued id in its client-facing form."""
    record = continuation_of(kwargs, answer_text)
    addressed = kwargs.get(ADDRESSED_ID_FIELD)
    if record["previous_response_id"] and isinstance(addressed, str) and addressed:
        record["previous_response_id"] = addressed
    return {**record, "tenant": tenant}


def expand_follow_up(
    data: dict[str, Any],
    record: Mapping[str, Any] | None,
    settings: SemCacheSettings,
    authorize: Any,
) -> bool:
    """Rewrite a follow-up naming a cached response (see the module docstring); False when the record is
    unknown, expired or another tenant's (the caller answers 400 without saying which).

    ``authorize(client_facing_id) -> original_id`` is LiteLLM's id check, used when it already ran for
    this request (it would not run again for the continued id); it raises to refuse.
    """
    if record is None or record.get("tenant") != tenant_of(identity_of(data), settings):
        return False
    rewritten = continued(data, record)
    chained = rewritten.get("previous_response_id")
    data["input"] = rewritten["input"]
    if not chained:
        data.pop("previous_response_id", None)
        data.pop(ADDRESSED_ID_FIELD, None)
    elif ADDRESSED_ID_FIELD in data:  # LiteLLM's id check already ran: do its part for the continued id
        data["previous_response_id"] = authorize(chained)
        data[ADDRESSED_ID_FIELD] = chained
    else:  # LiteLLM's id check runs next and decrypts it
        data["previous_response_id"] = chained
    return True
