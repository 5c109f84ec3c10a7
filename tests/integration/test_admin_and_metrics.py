"""The `litellm-semcache` admin commands and the shared counters, against a real Redis Stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from litellm_semcache.cli.main import main, parse_duration
from litellm_semcache.ops.admin import stats
from tests.builders import chat, completion


@pytest.fixture
def cli(
    redis_url: str,
    index_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Any:
    """Run the command line in-process against the test Redis and index; returns (status, stdout)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.chdir(tmp_path)  # no litellm_config.yaml here: settings from the environment only

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        status = main(["--index", index_name, *argv])
        return status, capsys.readouterr().out

    return run


def test_warm_list_search_show_and_delete_by_id(cli: Any, tmp_path: Path, backend_factory: Any) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(
        'question,answer\n"How do I reset my password?","Use the Forgot password link."\n'
        '"How do I change my email address?","Under Settings, then Profile."\n'
    )
    status, out = cli("warm", str(faq), "--team", "support-team")
    assert status == 0 and "stored 2 of 2" in out

    status, out = cli("list", "--json")
    rows = json.loads(out)
    assert {r["query"] for r in rows} == {"How do I reset my password?", "How do I change my email address?"}

    status, out = cli("search", "I forgot my password", "--json")
    best = json.loads(out)[0]
    assert best["query"] == "How do I reset my password?" and 0.5 < best["similarity"] < 1.0

    status, out = cli("show", best["id"])
    shown = json.loads(out)
    assert shown["answer"] == "Use the Forgot password link."
    assert shown["age"] in {"just now", "1 second ago"} or shown["age"].endswith("seconds ago")  # not epoch
    assert shown["created"].endswith("+00:00") and isinstance(shown["created_at"], float)

    # The warmed entry serves that team's requests ...
    backend = backend_factory()
    asked = chat("How can I reset my password?", metadata={"user_api_key_team_id": "support-team"})
    found = await_lookup(backend, asked)
    assert found.status == "hit" and found.entry is not None and found.entry.id == best["id"]
    # ... and one command removes a wrong answer.
    status, out = cli("delete", best["id"])
    assert status == 0 and "deleted 1 entry" in out
    assert await_lookup(backend, asked).status == "miss"
    assert cli("delete", best["id"])[0] == 1  # already gone


def await_lookup(backend: Any, kwargs: dict[str, Any]) -> Any:
    import asyncio

    async def go() -> Any:
        try:
            return await backend.lookup(kwargs)
        finally:
            await backend.store.close()

    return asyncio.run(go())


def test_delete_by_filters(cli: Any, tmp_path: Path) -> None:
    faq = tmp_path / "faq.jsonl"
    faq.write_text(
        "\n".join(
            json.dumps({"question": q, "answer": "a"})
            for q in [
                "What is the capital of France?",
                "What is the capital of Spain?",
                "How do volcanoes form?",
            ]
        )
    )
    assert cli("warm", str(faq), "--namespace", "geo")[0] == 0
    assert cli("warm", str(faq), "--namespace", "other")[0] == 0
    assert main(["delete"]) == 2  # no id, no filter: refused
    status, out = cli("delete", "--namespace", "geo", "--match", "capital")
    assert "deleted 2 entries" in out
    assert cli("delete", "--older-than", "1h")[1].startswith("deleted 0")
    remaining = json.loads(cli("list", "--json")[1])
    assert sorted((r["namespace"], r["query"]) for r in remaining) == [
        ("geo", "How do volcanoes form?"),
        ("other", "How do volcanoes form?"),
        ("other", "What is the capital of France?"),
        ("other", "What is the capital of Spain?"),
    ]
    status, out = cli("delete", "--newer-than", "1h", "--model", "faq")
    assert "deleted 4 entries" in out


def test_flush_touches_only_the_caches_own_keys(
    cli: Any, tmp_path: Path, redis_url: str, index_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("someone-elses:key", "keep me")
    client.hset(f"{index_name}-other:entry:1", "query", "a similarly named index must survive")
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nWhat is the capital of France?,Paris.\n")
    cli("warm", str(faq))
    assert cli("flush")[0] == 2  # needs --yes
    status, out = cli("flush", "--yes")
    assert status == 0 and "deleted 1 keys" in out
    assert client.get("someone-elses:key") == b"keep me"
    assert client.exists(f"{index_name}-other:entry:1")
    assert not list(client.scan_iter(match=f"{index_name}:*"))
    client.delete("someone-elses:key", f"{index_name}-other:entry:1")
    client.close()


async def test_stats_count_outcomes_savings_and_similarities(
    backend_factory: Any, redis_url: str, index_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = backend_factory()
    await backend.async_set_cache(
        "k",
        completion("Paris.", prompt_tokens=1000, completion_tokens=500),
        **chat("What is the capital of France?"),
    )
    assert await backend.async_get_cache("k", **chat("Can you tell me the capital of France?")) is not None
    assert await backend.async_get_cache("k", **chat("  What is the capital of France? ")) is not None
    assert await backend.async_get_cache("k", **chat("How do volcanoes form?")) is None
    assert await backend.async_get_cache("k", **chat("What is my balance?")) is None
    await backend.metrics.flush(backend.store.client())

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.chdir(tmp_path)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # run the CLI in a worker thread: this test's event loop is already running
        import asyncio

        status = await asyncio.to_thread(main, ["--index", index_name, "stats", "--json"])
    assert status == 0
    summary = json.loads(out.getvalue())
    assert (summary["hits"], summary["misses"], summary["filtered"]) == (2, 1, 1)
    assert isinstance(summary["hits"], int) and isinstance(summary["hit_rate"], float)
    assert summary["hit_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert (summary["hits_exact"], summary["hits_semantic"]) == (1, 1)
    assert summary["filtered_by_reason"] == {"class:private": 1}  # the classifier kept it out
    assert summary["tokens_saved"] == 2 * 1500
    assert summary["cost_saved_usd"] > 0  # gpt-4o-mini is in LiteLLM's price map
    assert summary["stored"] == 1 and summary["entries"] == 1
    assert sum(summary["similarity_hits"].values()) == 2

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        await asyncio.to_thread(main, ["--index", index_name, "stats", "--prometheus"])
    families = {f.name: f for f in text_string_to_metric_families(out.getvalue())}
    requests = {s.labels["outcome"]: s.value for s in families["semcache_requests"].samples}
    assert requests["hit"] == 2 and requests["miss"] == 1 and requests["filtered"] == 1
    buckets = [s for s in families["semcache_similarity_hit"].samples if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 2


def test_durations() -> None:
    assert parse_duration("90") == 90 and parse_duration("15m") == 900 and parse_duration("7d") == 604800
    with pytest.raises(Exception, match="not a duration"):
        parse_duration("soon")


async def test_savings_are_priced_when_the_request_names_a_model_group(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    """Through the proxy a request's model is its model group ("gpt-a"), which no price map knows: the hit
    is priced as the model that answered it (the stored answer's model), not as $0."""
    backend = backend_factory()
    await backend.async_set_cache(
        "k",
        completion("Paris.", prompt_tokens=1000, completion_tokens=500),
        **chat("What is the capital of France?", model="gpt-a"),
    )
    assert await backend.async_get_cache("k", **chat("What is the capital of France?", model="gpt-a"))
    await backend.metrics.flush(backend.store.client())
    summary = (await stats(backend.store)).summary()
    assert summary["tokens_saved"] == 1500 and summary["cost_saved_usd"] > 0
