"""Where the milliseconds of a lookup go: the plugin's own steps, timed inside the real code path.

Runs the backend in-process against a real Redis Stack (started here) with the real model, stores
questions, then looks up exact repeats, paraphrases and never-seen questions one at a time. Every lookup
reports its own step timings (``Outcome.timings``: prepare = parse + filter + scope, exact_get, embed,
classify, knn, verify, fetch), so the table is the product's code path, not a copy. What LiteLLM's proxy adds
around the plugin is measured by ``python -m benchmarks.latency`` (its ``nocache`` and exact-hit rows).

    python -m benchmarks.profile_hit_path            # writes benchmarks/results/profile.{json,md}
    python -m benchmarks.profile_hit_path --quick    # 20 lookups of each kind, nothing written
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.common import RESULTS_DIR, command_line, write_results
from benchmarks.questions import MissQuestions, Pair, paraphrase_candidates
from harness.services import start_redis
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.types import Outcome

if TYPE_CHECKING:
    from litellm_semcache.integrations.litellm import SemanticCacheBackend

MODULE = "benchmarks.profile_hit_path"
STEPS = ("prepare", "exact_get", "embed", "classify", "knn", "verify", "fetch")
KINDS = ("exact hit", "paraphrase hit", "miss")


def _chat(text: str) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
        "metadata": {"model_group": "gpt-a"},
    }


def _completion(text: str) -> dict[str, Any]:
    return {
        "response": json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"An answer about {text} " * 8},
                    }
                ],
                "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80},
            }
        )
    }


async def _fill(backend: SemanticCacheBackend, n: int) -> list[Pair]:
    """Store the questions the hits will find; returns their pairs."""
    pairs = paraphrase_candidates()[: n * 3 : 3]
    for pair in pairs:
        await backend.store_answer(_completion(pair.stored), _chat(pair.stored))
    return pairs


async def _time_lookups(
    backend: SemanticCacheBackend, pairs: Sequence[Pair], misses: Sequence[str]
) -> dict[str, list[tuple[Outcome, float]]]:
    """Each kind's lookups with their client-side time (ms), interleaved so machine noise hits all alike."""
    kinds: dict[str, list[tuple[Outcome, float]]] = {kind: [] for kind in KINDS}
    for pair, miss in zip(pairs, misses, strict=True):
        for kind, text in zip(KINDS, (pair.stored, pair.paraphrase, miss), strict=True):
            started = time.perf_counter()
            found = await backend.lookup(_chat(text))
            kinds[kind].append((found, (time.perf_counter() - started) * 1000))
    return kinds


def _summary(kind: str, runs: list[tuple[Outcome, float]]) -> dict[str, Any]:
    """Median step timings of the lookups that ended as expected (a hit for the hit kinds)."""
    expected = "hit" if "hit" in kind else "miss"
    ok = [(found, total) for found, total in runs if found.status == expected]
    return {
        "measured": len(ok),
        "of": len(runs),
        "steps_p50_ms": {
            step: round(statistics.median([f.timings[step] for f, _ in ok if step in f.timings]), 3)
            for step in STEPS
            if any(step in f.timings for f, _ in ok)
        },
        "total_p50_ms": round(statistics.median([t for _, t in ok]), 3) if ok else None,
    }


async def _profile(backend: SemanticCacheBackend, n: int) -> dict[str, Any]:
    pairs = await _fill(backend, n)
    misses = MissQuestions().take(n)
    await backend.lookup(_chat("warm-up question about the weather in Paris in spring"))
    kinds = await _time_lookups(backend, pairs, misses)
    return {kind: _summary(kind, runs) for kind, runs in kinds.items()}


def _markdown(table: dict[str, Any], command: str) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        "| lookup | n | " + " | ".join(STEPS) + " | total p50 (ms) |",
        "|---|---:|" + "---:|" * len(STEPS) + "---:|",
    ]
    for kind, row in table.items():
        steps = [f"{row['steps_p50_ms'][s]:.3f}" if s in row["steps_p50_ms"] else "-" for s in STEPS]
        lines.append(
            f"| {kind} | {row['measured']}/{row['of']} | "
            + " | ".join(steps)
            + f" | {row['total_p50_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _measure(n: int) -> dict[str, Any]:
    """Start Redis Stack and the backend, profile ``n`` lookups of each kind, stop Redis."""
    from litellm_semcache.integrations.litellm import SemanticCacheBackend  # imports litellm: seconds

    with tempfile.TemporaryDirectory(prefix="semcache-profile-") as work:
        server = start_redis(Path(work))
        try:
            settings = SemCacheSettings(redis_url=server.url, index_name="profile")
            backend = SemanticCacheBackend(settings, redis_url=server.url)
            backend.embedder.encode_batch(["warm-up"])
            return asyncio.run(_profile(backend, n))
        finally:
            server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300, help="lookups of each kind")
    parser.add_argument("--quick", action="store_true", help="20 lookups of each kind, nothing written")
    parser.add_argument(
        "--output",
        type=Path,
        help="results file stem (default benchmarks/results/profile; with --quick, written only if given)",
    )
    args = parser.parse_args(argv)
    table = _measure(20 if args.quick else args.lookups)
    command = command_line(MODULE, argv)
    markdown = _markdown(table, command)
    print(markdown)
    if args.output or not args.quick:
        report = {"command": shlex.split(command), "kinds": table, "cpu_count": os.cpu_count()}
        write_results(args.output or RESULTS_DIR / "profile", report, markdown)


if __name__ == "__main__":
    main()
