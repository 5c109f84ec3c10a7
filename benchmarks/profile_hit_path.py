"""Where the milliseconds of a lookup go: the plugin's own steps, timed inside the real code path.

Runs the backend in-process against a real Redis Stack (started here) with the real model, stores
questions, then looks up exact repeats, paraphrases and never-seen questions one at a time. Every lookup
reports its own step timings (``Lookup.timings``: prepare = parse + filter + scope, exact_get, embed,
knn, verify, fetch), so the table is the product's code path, not a copy. What LiteLLM's proxy adds
around the plugin is measured by ``benchmarks/latency.py`` (its ``nocache`` and exact-hit rows).

    python benchmarks/profile_hit_path.py            # writes benchmarks/results/profile.{json,md}
    python benchmarks/profile_hit_path.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.questions import MissQuestions, paraphrase_candidates
from litellm_semcache.backend import SemanticCacheBackend
from litellm_semcache.settings import SemCacheSettings
from tests.services import start_redis

STEPS = ("prepare", "exact_get", "embed", "knn", "verify", "fetch")
RESULTS = REPO / "benchmarks" / "results"


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


async def _profile(backend: SemanticCacheBackend, n: int) -> dict[str, Any]:
    pairs = paraphrase_candidates()[: n * 3 : 3]
    for pair in pairs:
        await backend.store_answer(_completion(pair.stored), _chat(pair.stored))
    misses = MissQuestions().take(n)
    await backend.lookup(_chat("warm-up question about the weather in Paris in spring"))

    kinds: dict[str, list[Any]] = {"exact hit": [], "paraphrase hit": [], "miss": []}
    for i in range(n):  # interleaved so machine noise hits all kinds alike
        for kind, text in (
            ("exact hit", pairs[i].stored),
            ("paraphrase hit", pairs[i].paraphrase),
            ("miss", misses[i]),
        ):
            started = time.perf_counter()
            found = await backend.lookup(_chat(text))
            total = (time.perf_counter() - started) * 1000
            kinds[kind].append((found, total))
    table: dict[str, Any] = {}
    for kind, runs in kinds.items():
        expected = "hit" if "hit" in kind else "miss"
        ok = [(found, total) for found, total in runs if found.status == expected]
        table[kind] = {
            "measured": len(ok),
            "of": len(runs),
            "steps_p50_ms": {
                step: round(statistics.median([f.timings[step] for f, _ in ok if step in f.timings]), 3)
                for step in STEPS
                if any(step in f.timings for f, _ in ok)
            },
            "total_p50_ms": round(statistics.median([t for _, t in ok]), 3) if ok else None,
        }
    return table


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300, help="lookups of each kind")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 20 if args.quick else args.lookups
    with tempfile.TemporaryDirectory(prefix="semcache-profile-") as work:
        server = start_redis(Path(work))
        try:
            settings = SemCacheSettings(redis_url=server.url, index_name="profile")
            backend = SemanticCacheBackend(settings, redis_url=server.url)
            backend.embedder.encode_batch(["warm-up"])
            table = asyncio.run(_profile(backend, n))
        finally:
            server.stop()
    command = "python benchmarks/profile_hit_path.py" + (" --quick" if args.quick else "")
    markdown = _markdown(table, command)
    print(markdown)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "profile.json").write_text(
            json.dumps(
                {"command": shlex.split(command), "kinds": table, "cpu_count": os.cpu_count()}, indent=2
            )
        )
        (RESULTS / "profile.md").write_text(markdown)


if __name__ == "__main__":
    main()
