"""The cacheability classifier on the request path: before any lookup or store, and never bypassed by
the exact-repeat fast path."""

from __future__ import annotations

from typing import Any

from litellm_semcache.ops.admin import stats
from tests.builders import chat, completion

LIVE = "is it going to rain in Paris tomorrow"


async def test_kept_out_questions_are_neither_looked_up_nor_stored(backend_factory: Any) -> None:
    backend = backend_factory()
    await backend.async_set_cache("k", completion("It will rain."), **chat(LIVE))
    found = await backend.lookup(chat(LIVE))
    assert (found.status, found.reason_text) == ("filtered", "class:live")
    assert found.class_probability is not None and found.class_probability > 0.5
    assert backend.metrics._counts["not_stored:class:live"] == 1


async def test_an_exact_repeat_admitted_under_another_policy_is_decided_again(backend_factory: Any) -> None:
    lenient = backend_factory(keep_out_classes=["private", "random"])  # this deployment caches live answers
    await lenient.async_set_cache("k", completion("It will rain."), **chat(LIVE))
    assert (await lenient.lookup(chat(LIVE))).reason == "exact"
    strict = backend_factory()  # same index, today's default policy: live questions stay out
    found = await strict.lookup(chat(LIVE))
    assert (found.status, found.reason_text) == ("filtered", "class:live")  # not served by the fast path


async def test_live_answers_may_be_cached_for_minutes(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    import redis

    backend = backend_factory(live_ttl_seconds=120)
    await backend.async_set_cache("k", completion("It will rain."), **chat(LIVE))
    assert (await backend.lookup(chat(LIVE))).reason == "exact"
    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(match=f"{index_name}:entry:*"))
    assert 0 < client.ttl(key) <= 120  # its life is the live TTL, not ttl_seconds
    client.close()


async def test_hidden_characters_do_not_smuggle_a_private_question_past_the_classifier(
    backend_factory: Any,
) -> None:
    backend = backend_factory()
    for text in ("What is m\u0443 account balance?", "What is my\u200baccount balance?"):  # Cyrillic у; ZWSP
        found = await backend.lookup(chat(text))
        assert (found.status, found.reason) == ("filtered", "class"), text


async def test_without_its_classifier_the_cache_stores_and_serves_nothing(
    backend_factory: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    import shutil

    from litellm_semcache.models import cacheability_text

    broken = tmp_path / "cacheability_text"
    shutil.copytree(cacheability_text.DEFAULT_DIRECTORY, broken)
    (broken / "model.onnx").write_bytes(b"truncated")
    monkeypatch.setattr(cacheability_text, "DEFAULT_DIRECTORY", broken)
    backend = backend_factory()
    general = "What is the boiling point of water at sea level?"
    await backend.async_set_cache("k", completion("100 C."), **chat(general))
    found = await backend.lookup(chat(general))
    # Failing closed: no weaker check is swapped in, so a private question can never slip into the cache.
    assert (found.status, found.reason) == ("filtered", "classifier_unavailable")
    await backend.metrics.flush(backend.store.client())
    problems = (await stats(backend.store)).summary()["problems"]
    assert "cacheability classifier is unavailable" in problems["classifier_unavailable"]["message"]


async def test_a_calibrated_deployment_caches_what_its_labels_call_general(
    backend_factory: Any, tmp_path: Any
) -> None:
    from litellm_semcache.admission.calibration import CacheabilityCalibration
    from litellm_semcache.models.cacheability_text import TextCacheabilityModel

    question = "When will my card be activated?"  # a support question the shipped decision keeps out
    assert (await backend_factory().lookup(chat(question))).reason == "class"
    path = tmp_path / "calibration.json"
    version = TextCacheabilityModel.load().version
    CacheabilityCalibration(model=version, general_shift=4.0, keep_out_budget=0.05, source="test").write(path)
    calibrated = backend_factory(cacheability_calibration=str(path))
    await calibrated.async_set_cache("k", completion("Within a day."), **chat(question))
    assert (await calibrated.lookup(chat(question))).reason == "exact"
    private = await calibrated.lookup(chat("What is my account balance?"))
    assert (private.status, private.reason) == ("filtered", "class")  # still kept out
    # The default deployment on the same index decides the stored entry again and keeps it out.
    assert (await backend_factory().lookup(chat(question))).reason == "class"


async def test_a_calibration_for_another_model_stores_and_serves_nothing(
    backend_factory: Any, tmp_path: Any
) -> None:
    from litellm_semcache.admission.calibration import CacheabilityCalibration

    path = tmp_path / "calibration.json"
    wrong = CacheabilityCalibration(model="another", general_shift=1.0, keep_out_budget=0.05, source="x")
    wrong.write(path)
    backend = backend_factory(cacheability_calibration=str(path))
    found = await backend.lookup(chat("What is the boiling point of water at sea level?"))
    assert (found.status, found.reason) == ("filtered", "classifier_unavailable")
    await backend.metrics.flush(backend.store.client())
    problems = (await stats(backend.store)).summary()["problems"]
    assert "recalibrate" in problems["classifier_unavailable"]["message"]


async def test_a_policy_calibrated_for_its_use_case_leaves_the_others_alone(
    backend_factory: Any, tmp_path: Any
) -> None:
    from litellm_semcache.admission.calibration import CacheabilityCalibration
    from litellm_semcache.models.cacheability_text import TextCacheabilityModel

    question = "When will my card be activated?"
    good, bad = tmp_path / "support.json", tmp_path / "stale.json"
    version = TextCacheabilityModel.load().version
    CacheabilityCalibration(model=version, general_shift=4.0, keep_out_budget=0.05, source="t").write(good)
    CacheabilityCalibration(model="old", general_shift=4.0, keep_out_budget=0.05, source="t").write(bad)
    backend = backend_factory(
        policies=[
            {"name": "support", "match": {"model_groups": ["support-bot"]}, "cacheability_calibration": good},
            {"name": "stale", "match": {"model_groups": ["legacy"]}, "cacheability_calibration": bad},
        ]
    )
    await backend.async_set_cache("k", completion("Within a day."), **chat(question, group="support-bot"))
    assert (await backend.lookup(chat(question, group="support-bot"))).reason == "exact"
    # The gateway's other apps keep the shipped decision, and a policy whose file is stale caches nothing.
    assert (await backend.lookup(chat(question))).reason == "class"
    general = "What is the boiling point of water at sea level?"
    assert (await backend.lookup(chat(general, group="legacy"))).reason == "classifier_unavailable"
    assert (await backend.lookup(chat(general))).status == "miss"
    await backend.metrics.flush(backend.store.client())
    problems = (await stats(backend.store)).summary()["problems"]
    assert set(problems) == {"classifier_unavailable:stale"}  # named per policy; the block's is fine
    assert "recalibrate" in problems["classifier_unavailable:stale"]["message"]


async def test_a_policy_can_clear_the_blocks_calibration_for_its_use_case(
    backend_factory: Any, tmp_path: Any
) -> None:
    from litellm_semcache.admission.calibration import CacheabilityCalibration
    from litellm_semcache.models.cacheability_text import TextCacheabilityModel

    question = "When will my card be activated?"  # cached under the support desk's fit, not the shipped one
    path = tmp_path / "support.json"
    version = TextCacheabilityModel.load().version
    CacheabilityCalibration(model=version, general_shift=4.0, keep_out_budget=0.05, source="t").write(path)
    backend = backend_factory(
        cacheability_calibration=str(path),
        policies=[{"name": "clinical", "match": {"model_groups": ["med"]}, "cacheability_calibration": None}],
    )
    await backend.async_set_cache("k", completion("Within a day."), **chat(question))
    assert (await backend.lookup(chat(question))).reason == "exact"
    # The clinical app asked for the shipped decision: the block's looser fit does not reach it.
    found = await backend.lookup(chat(question, group="med"))
    assert (found.status, found.reason) == ("filtered", "class")
