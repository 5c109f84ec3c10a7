"""``litellm-semcache``: inspect and operate the cache from a shell.

Settings come from the same places as the proxy's: ``--config`` (default ``$SEMCACHE_CONFIG`` or
``./litellm_config.yaml``), then the environment. With no ``REDIS_URL``, the commands use the embedded
Redis Stack a running proxy started (found through the state directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, SemCacheError
from ..settings import SemCacheSettings, load_settings

if TYPE_CHECKING:
    from ..pipeline import Pipeline

__all__ = ["build_parser", "config_path", "describe_age", "main", "parse_duration"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``7d`` → seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 7d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


# --- wiring -----------------------------------------------------------------------------------------------
def config_path(args: argparse.Namespace) -> str | None:
    """The proxy config file the command reads: ``--config``, ``$SEMCACHE_CONFIG``, else
    ``./litellm_config.yaml`` when it exists (the embedded Redis Stack's state directory follows it)."""
    config: str | None = args.config or os.environ.get("SEMCACHE_CONFIG")
    if config is None and Path("litellm_config.yaml").exists():
        config = "litellm_config.yaml"
    return config


def _settings(args: argparse.Namespace) -> SemCacheSettings:
    overrides = {"index_name": args.index} if args.index else {}
    return load_settings(config_path(args), **overrides)


def _redis_url(settings: SemCacheSettings) -> str:
    if settings.redis_url:
        return settings.redis_url
    from ..ops.embedded_redis import running_embedded_redis

    running = running_embedded_redis(settings.state_dir)
    if running is None:
        raise ConfigError(
            f"no REDIS_URL set and no embedded Redis running for this config (state directory "
            f"{settings.state_dir}): start the proxy first, give the CLI the proxy's config file "
            "(--config; each config file has its own embedded Redis), or set REDIS_URL"
        )
    return running.url


def describe_age(seconds: float) -> str:
    """``12 minutes ago``: the largest whole unit of an age in seconds."""
    seconds = max(seconds, 0.0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now" if seconds < 1 else f"{int(seconds)} second{'s' if int(seconds) != 1 else ''} ago"


def _store(settings: SemCacheSettings) -> Any:
    """The store, with the vector size of the existing index (no model load for admin commands)."""
    import redis

    from ..store import RedisStore

    url = _redis_url(settings)
    dims = 384
    client = redis.Redis.from_url(url)
    try:
        info = client.execute_command("FT.INFO", settings.index_name)
        text = " ".join(str(part) for part in info)
        found = re.search(r"dim'?,?\s*b?'?(\d+)", text, flags=re.IGNORECASE)
        dims = int(found.group(1)) if found else dims
    except redis.ResponseError:
        pass  # no index yet: it is created with the default model's size
    finally:
        client.close()
    return RedisStore(
        url,
        settings.index_name,
        dims,
        datatype=settings.vector_dtype,
        timeout_seconds=max(settings.redis_timeout_seconds, 5.0),
        hnsw_ef_runtime=settings.hnsw_ef_runtime,
    )


def _pipeline(settings: SemCacheSettings) -> Pipeline:
    from ..pipeline import Pipeline

    settings = settings.with_overrides(redis_timeout_seconds=max(settings.redis_timeout_seconds, 5.0))
    return Pipeline(settings, redis_url=_redis_url(settings))


def _filter(args: argparse.Namespace) -> Any:
    from ..ops.admin import EntryFilter

    return EntryFilter(
        model=args.model,
        namespace=args.namespace,
        older_than_seconds=args.older_than,
        newer_than_seconds=args.newer_than,
        text=args.match,
    )


def _print_rows(rows: Sequence[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        print("(no entries)")
        return
    now = time.time()
    for row in rows:
        similarity = f"{row.similarity:.3f} " if row.similarity is not None else ""
        age = f"{(now - row.created_at) / 60:.0f}m"
        print(f"{row.id}  {similarity}{age:>6}  {row.model or '-':<24} {row.namespace:<10} {row.query[:80]}")


# --- commands ---------------------------------------------------------------------------------------------
async def _cmd_stats(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import stats
    from ..ops.prometheus import prometheus_text

    store = _store(settings)
    snapshot = await stats(store)
    entries = await store.count() if not args.prometheus else None
    await store.close()
    if args.prometheus:
        sys.stdout.write(prometheus_text(snapshot, settings.index_name))
    elif args.json:
        print(json.dumps({**snapshot.summary(), "entries": entries}))
    else:
        summary = snapshot.summary()
        print(f"{'entries':<22}{entries}")
        for key in (
            "hits",
            "hits_exact",
            "hits_semantic",
            "misses",
            "filtered",
            "skipped",
            "errors",
            "hit_rate",
            "stored",
            "tokens_saved",
            "cost_saved_usd",
        ):
            print(f"{key:<22}{summary[key]}")
        for key in ("filtered_by_reason", "skipped_by_reason", "misses_by_reason", "not_stored_by_reason"):
            if summary[key]:
                print(f"{key:<22}" + ", ".join(f"{k}={v}" for k, v in summary[key].items()))
        _print_knowing(summary)
    return 0


def _rate(block: dict[str, Any]) -> str:
    """An estimated wrong-hit rate as one line: estimate [lower, upper] (disagreed / compared)."""
    if not block["compared"]:
        return "no comparisons yet"
    return (
        f"{block['estimate']:.1%} [95% {block['lower']:.1%}, {block['upper']:.1%}] "
        f"({block['disagreed']} of {block['compared']} disagreed, observed {block['observed']:.1%})"
    )


def _print_knowing(summary: dict[str, Any]) -> None:
    """Shadow mode, audits and feedback, when there are any."""
    shadow, audits = summary["shadow"], summary["audits"]
    if shadow["lookups"]:
        print(f"{'shadow_lookups':<22}{shadow['lookups']}")
        print(f"{'would_be_hits':<22}{shadow['would_be_hits']}")
        print(f"{'would_be_hit_rate':<22}{shadow['would_be_hit_rate']}")
        print(f"{'shadow_wrong_hit_rate':<22}{_rate(shadow['wrong_hit_rate'])}")
    if audits["run"] or audits["skipped_busy"]:
        print(
            f"{'audits':<22}"
            + ", ".join(f"{k}={audits[k]}" for k in ("run", "agreed", "disagreed", "uncomparable", "failed"))
            + f", skipped_busy={audits['skipped_busy']}"
        )
        print(f"{'audit_spend':<22}{audits['tokens']} tokens, ${audits['cost_usd']}")
        print(f"{'audit_wrong_hit_rate':<22}{_rate(audits['wrong_hit_rate'])}")
    if any(summary["feedback"].values()):
        print(f"{'feedback':<22}" + ", ".join(f"{k}={v}" for k, v in summary["feedback"].items()))
    if summary["invalidated"]:
        print(f"{'invalidated':<22}" + ", ".join(f"{k}={v}" for k, v in summary["invalidated"].items()))
    rows = [r for r in summary["by_tenant"] if r["lookups"] or r["shadow_lookups"]]
    if rows:
        print("by namespace / tenant:")
        for row in rows[:20]:
            line = f"  {row['namespace']:<12} {row['tenant']:<30}"
            if row["lookups"]:
                line += f" hit_rate {row['hit_rate']:.1%} of {row['lookups']}"
            if row["shadow_lookups"]:
                line += f"; would-be hit_rate {row['would_be_hit_rate']:.1%} of {row['shadow_lookups']}"
            for source in ("shadow", "audit"):
                if row[f"{source}_wrong_hit_rate"]["compared"]:
                    line += f"; {source} wrong-hit {_rate(row[f'{source}_wrong_hit_rate'])}"
            print(line)
    if summary["by_policy"]:
        print("by policy:")
        for policy, outcomes in summary["by_policy"].items():
            hits, misses = outcomes.get("hit", 0), outcomes.get("miss", 0)
            rate = f"hit_rate {hits / (hits + misses):.1%} of {hits + misses}; " if hits + misses else ""
            print(f"  {policy:<20} {rate}" + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))


async def _cmd_report(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import stats
    from ..ops.report import write_report

    store = _store(settings)
    try:
        snapshot = await stats(store)
        entries = await store.count()
    finally:
        await store.close()
    path = write_report(Path(args.output), snapshot, settings.index_name, entries=entries)
    print(f"wrote {path}")
    return 0


async def _cmd_list(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import list_entries

    store = _store(settings)
    rows = await list_entries(store, _filter(args), limit=args.limit)
    await store.close()
    _print_rows(rows, args.json)
    return 0


async def _cmd_search(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import search

    pipeline = _pipeline(settings)
    rows = await search(pipeline.entries, pipeline.embedder, args.text, k=args.limit)
    await pipeline.close()
    _print_rows(rows, args.json)
    return 0


async def _cmd_show(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    store = _store(settings)
    entry = await store.get(args.entry_id)
    await store.close()
    if entry is None:
        print(f"no entry {args.entry_id}", file=sys.stderr)
        return 1
    from ..formats import stored_answer

    neutral = stored_answer(entry, settings)  # any API's entry; older ones are chat completions
    print(
        json.dumps(
            {
                "id": entry.id,
                "query": entry.query,
                "answer": neutral.text if neutral is not None else None,
                "format": entry.format or "chat",
                "model": entry.model,
                "model_group": entry.model_group,
                "namespace": entry.namespace,
                "created_at": entry.created_at,
                "created": datetime.fromtimestamp(entry.created_at, timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "age": describe_age(time.time() - entry.created_at),
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


async def _cmd_delete(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import delete_where

    store = _store(settings)
    try:
        if args.entry_ids:
            deleted = await store.delete(args.entry_ids)
        else:
            deleted = await delete_where(store, _filter(args))
    finally:
        await store.close()
    print(f"deleted {deleted} entr{'y' if deleted == 1 else 'ies'}")
    return 0 if deleted or not args.entry_ids else 1


async def _cmd_flush(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import flush

    if not args.yes:
        print(
            f"this deletes every key under '{settings.index_name}:' (entries and stats); pass --yes",
            file=sys.stderr,
        )
        return 2
    store = _store(settings)
    deleted = await flush(store, drop_index=args.drop_index)
    await store.close()
    print(
        f"deleted {deleted} keys under '{settings.index_name}:'"
        + (" and dropped the index" if args.drop_index else "")
    )
    return 0


async def _cmd_warm(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    from ..ops.admin import read_qa_pairs, warm
    from ..types import Identity

    identity = Identity(team=args.team, key=args.key_hash, end_user=args.end_user)
    pairs = list(read_qa_pairs(Path(args.file)))
    pipeline = _pipeline(settings)
    stored = await warm(
        pipeline,
        pairs,
        model=args.model_name,
        model_group=args.model_group,
        namespace=args.namespace,
        system_prompt=args.system_prompt,
        identity=identity,
        ttl_seconds=args.ttl,
    )
    await pipeline.close()
    print(f"stored {stored} of {len(pairs)} question/answer pairs")
    return 0 if stored == len(pairs) else 1


# --- parser -----------------------------------------------------------------------------------------------
def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="entries answered by this model")
    parser.add_argument("--namespace", help="entries of this namespace")
    parser.add_argument("--older-than", type=parse_duration, metavar="AGE", help="e.g. 7d, 12h")
    parser.add_argument("--newer-than", type=parse_duration, metavar="AGE", help="e.g. 30m")
    parser.add_argument("--match", metavar="TEXT", help="full-text match on the stored question")


def build_parser() -> argparse.ArgumentParser:
    """The command line parser (also used to check the README's examples)."""
    parser = argparse.ArgumentParser(prog="litellm-semcache", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="proxy config file with a litellm_semcache: block")
    parser.add_argument("--index", help="index name (default: from the settings)")
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="hits, misses, filtered, savings (all replicas)")
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.add_argument("--prometheus", action="store_true", help="Prometheus text format")

    report = commands.add_parser(
        "report", help="the dashboard's figures as a static HTML file with inline charts (all replicas)"
    )
    report.add_argument("--output", default="semcache-report.html", help="HTML file to write")

    listing = commands.add_parser("list", help="newest entries, optionally filtered")
    _add_filters(listing)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")

    search = commands.add_parser("search", help="entries nearest in meaning to a question")
    search.add_argument("text")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true")

    show = commands.add_parser("show", help="one entry with its answer")
    show.add_argument("entry_id")

    delete = commands.add_parser("delete", help="delete entries by id, or every entry matching filters")
    delete.add_argument("entry_ids", nargs="*", metavar="ENTRY_ID", help="ids, e.g. from x-semcache-entry-id")
    _add_filters(delete)

    flush = commands.add_parser("flush", help="delete the cache's own keys (never other data)")
    flush.add_argument("--yes", action="store_true", help="really do it")
    flush.add_argument(
        "--drop-index", action="store_true", help="also drop the index (e.g. to change schema)"
    )

    warm = commands.add_parser("warm", help="store question/answer pairs from a CSV or JSONL file")
    warm.add_argument("file", help="CSV with question,answer columns, or JSONL {question, answer}")
    warm.add_argument("--model-name", default="faq", help="model name recorded on the entries")
    warm.add_argument("--model-group", help="model group (matters with scope: model_group)")
    warm.add_argument("--namespace")
    warm.add_argument("--system-prompt", help="the system prompt the requests that should hit carry")
    warm.add_argument("--team", help="team id whose requests should hit (isolation: team)")
    warm.add_argument("--key-hash", help="hashed key whose requests should hit (isolation: key)")
    warm.add_argument("--end-user", help="end user whose requests should hit (isolation: end_user)")
    warm.add_argument("--ttl", type=int, help="seconds (default: ttl_seconds)")

    from .calibrate import add_calibrate_parser
    from .classify import add_classify_parser
    from .doctor import add_doctor_parser

    add_calibrate_parser(commands)
    add_classify_parser(commands)
    add_doctor_parser(commands)
    for command in commands.choices.values():  # `litellm-semcache doctor --config x.yaml` reads naturally too
        command.add_argument(
            "--config", default=argparse.SUPPRESS, help="proxy config file with a litellm_semcache: block"
        )
        command.add_argument(
            "--index", default=argparse.SUPPRESS, help="index name (default: from the settings)"
        )
    return parser


_COMMANDS = {
    "stats": _cmd_stats,
    "report": _cmd_report,
    "list": _cmd_list,
    "search": _cmd_search,
    "show": _cmd_show,
    "delete": _cmd_delete,
    "flush": _cmd_flush,
    "warm": _cmd_warm,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``litellm-semcache`` console script."""
    environ = dict(os.environ)  # as the user set it, for `doctor`
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from .doctor import run_doctor

        return run_doctor(args, config_path(args), environ)
    try:
        settings = _settings(args)
        if args.command == "delete" and not args.entry_ids and _filter(args).empty:
            print(
                "delete needs entry ids or at least one filter (--model, --namespace, --older-than, "
                "--newer-than, --match)",
                file=sys.stderr,
            )
            return 2
        if args.command == "calibrate":
            from .calibrate import run_calibrate

            return run_calibrate(args, settings)
        if args.command == "classify":
            from .classify import run_classify

            return run_classify(args, settings)
        return asyncio.run(_COMMANDS[args.command](args, settings))
    except SemCacheError as exc:
        print(f"litellm-semcache: {exc}", file=sys.stderr)
        return 2
