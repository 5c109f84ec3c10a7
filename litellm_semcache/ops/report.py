"""``litellm-semcache report``: the dashboard's figures as one static HTML file, for teams without Grafana.

Read from the same fleet-wide counters as ``stats`` and ``/semcache/metrics``: hit rate and would-be hit
rate, the estimated wrong-hit rate with its interval (shadow comparisons, audits, per namespace and
tenant), requests by outcome, tokens and cost saved, audit spend, similarity and verifier-score
histograms, why requests were kept out or missed, feedback. Charts are PNGs drawn with matplotlib (the
``calibrate`` extra) and inlined, so the file opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .metrics import SCORE_BUCKETS, SIMILARITY_BUCKETS
from .snapshot import Snapshot

__all__ = ["key_figures", "render_report", "write_report"]


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _rate(block: Mapping[str, Any]) -> str:
    if not block["compared"]:
        return "no comparisons yet"
    return (
        f"{_pct(block['estimate'])} (95% interval {_pct(block['lower'])} to {_pct(block['upper'])}; "
        f"{block['disagreed']} of {block['compared']} disagreed, observed {_pct(block['observed'])})"
    )


def key_figures(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headline numbers, as (label, value) rows."""
    shadow, audits = summary["shadow"], summary["audits"]
    return [
        ("Hit rate (serve)", f"{_pct(summary['hit_rate'])} of {summary['hits'] + summary['misses']} lookups"),
        (
            "Would-be hit rate (shadow)",
            f"{_pct(shadow['would_be_hit_rate'])} of {shadow['lookups']} shadow lookups",
        ),
        ("Estimated wrong-hit rate (shadow)", _rate(shadow["wrong_hit_rate"])),
        ("Estimated wrong-hit rate (audits)", _rate(audits["wrong_hit_rate"])),
        ("Hits", f"{summary['hits']} ({summary['hits_exact']} exact, {summary['hits_semantic']} by meaning)"),
        ("Tokens saved", f"{summary['tokens_saved']:,}"),
        ("Cost saved", f"${summary['cost_saved_usd']:.4f}"),
        (
            "Audits",
            f"{audits['run']} run: {audits['agreed']} agreed, {audits['disagreed']} disagreed, "
            f"{audits['uncomparable']} uncomparable, {audits['failed']} failed; "
            f"{audits['skipped_busy']} skipped (busy)",
        ),
        ("Audit spend", f"{audits['tokens']:,} tokens, ${audits['cost_usd']:.4f}"),
        (
            "Feedback",
            f"{summary['feedback']['wrong']} wrong, {summary['feedback']['correct']} correct",
        ),
        (
            "Entries removed as wrong",
            ", ".join(f"{k} {v}" for k, v in summary["invalidated"].items()) or "none",
        ),
    ]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("report needs matplotlib: pip install 'litellm-semcache[calibrate]'") from exc
    return plt


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, base64 PNG) per chart."""
    plt = _pyplot()
    charts: list[tuple[str, str]] = []

    figure, axis = plt.subplots(figsize=(6, 3.2))
    outcomes = {
        "hit": summary["hits"],
        "miss": summary["misses"],
        "shadow": summary["shadow"]["lookups"],
        "filtered": summary["filtered"],
        "skipped": summary["skipped"],
        "error": summary["errors"],
    }
    axis.bar(list(outcomes), list(outcomes.values()), color="tab:blue")
    axis.set_ylabel("requests")
    charts.append(("Requests by outcome", _png(figure)))
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 3.2))
    names, values, lows, highs = [], [], [], []
    for name, block in (
        ("shadow", summary["shadow"]["wrong_hit_rate"]),
        ("audits", summary["audits"]["wrong_hit_rate"]),
    ):
        names.append(f"{name}\n(n={block['compared']})")
        values.append(block["estimate"])
        lows.append(block["estimate"] - block["lower"])
        highs.append(block["upper"] - block["estimate"])
    axis.bar(names, values, yerr=[lows, highs], capsize=8, color="tab:red")
    axis.set_ylim(0, 1)
    axis.set_ylabel("estimated wrong-hit rate")
    charts.append(("Estimated wrong-hit rate, 95% interval", _png(figure)))
    plt.close(figure)

    for title, pairs, bounds in (
        (
            "Similarity of hits and near misses",
            (("hits", summary["similarity_hits"]), ("near misses", summary["similarity_near_misses"])),
            SIMILARITY_BUCKETS,
        ),
        (
            "Learned verifier scores",
            (("served", summary["verifier_scores_hits"]), ("refused", summary["verifier_scores_refused"])),
            SCORE_BUCKETS,
        ),
    ):
        figure, axis = plt.subplots(figsize=(6, 3.2))
        labels = [f"{b:.2f}" for b in bounds]
        width = 0.4
        for offset, (name, counts) in enumerate(pairs):
            positions = [i + (offset - 0.5) * width for i in range(len(labels))]
            axis.bar(positions, [counts.get(label, 0) for label in labels], width=width, label=name)
        axis.set_xticks(range(len(labels)), labels, rotation=45)
        axis.set_xlabel("bucket (upper bound)")
        axis.legend()
        charts.append((title, _png(figure)))
        plt.close(figure)

    reasons = {
        **{f"kept out: {k}": v for k, v in summary["filtered_by_reason"].items()},
        **{f"kept out: {k}": v for k, v in summary["skipped_by_reason"].items()},
        **{f"miss: {k}": v for k, v in summary["misses_by_reason"].items()},
    }
    if reasons:
        top = sorted(reasons.items(), key=lambda item: -item[1])[:15]
        figure, axis = plt.subplots(figsize=(6, 0.35 * len(top) + 1))
        axis.barh([k for k, _ in top][::-1], [v for _, v in top][::-1], color="tab:gray")
        axis.set_xlabel("requests")
        charts.append(("Kept out and missed, by reason", _png(figure)))
        plt.close(figure)
    return charts


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(snapshot: Snapshot, index_name: str, *, entries: int | None = None) -> str:
    """The report as one self-contained HTML document.

    Raises:
        ConfigError: matplotlib is missing.
    """
    summary = snapshot.summary()
    figures = key_figures(summary)
    if entries is not None:
        figures.insert(0, ("Entries", str(entries)))
    tenants = [
        [
            row["namespace"],
            row["tenant"],
            f"{_pct(row['hit_rate'])} of {row['lookups']}" if row["lookups"] else "-",
            f"{_pct(row['would_be_hit_rate'])} of {row['shadow_lookups']}" if row["shadow_lookups"] else "-",
            _rate(row["shadow_wrong_hit_rate"]),
            _rate(row["audit_wrong_hit_rate"]),
            str(row["feedback_wrong"]),
        ]
        for row in summary["by_tenant"]
    ]
    charts = "".join(
        f'<figure><figcaption>{html.escape(title)}</figcaption><img alt="{html.escape(title)}" '
        f'src="data:image/png;base64,{png}"></figure>'
        for title, png in _charts(summary)
    )
    header = ["namespace", "tenant", "hit rate", "would-be hit rate", "wrong-hit rate (shadow)"]
    header += ["wrong-hit rate (audits)", "feedback: wrong"]
    tenant_table = _table(tenants, header) if tenants else "<p>(no per-tenant counts)</p>"
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>litellm-semcache report: {html.escape(index_name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }}
figcaption {{ font-weight: bold; }}
</style></head><body>
<h1>litellm-semcache: index {html.escape(index_name)}</h1>
<p>Generated {generated} from the fleet-wide counters (all replicas). The estimated wrong-hit rate is the
share of compared (would-be) hits whose answer disagreed with the provider's fresh one, with a Wilson 95%
interval, corrected for the answer comparison's own errors.</p>
<h2>Key figures</h2>
{_table([list(row) for row in figures], ["figure", "value"])}
<h2>Charts</h2>
{charts}
<h2>By namespace and tenant</h2>
{tenant_table}
</body></html>
"""


def write_report(path: Path, snapshot: Snapshot, index_name: str, *, entries: int | None = None) -> Path:
    """Write the HTML report (whole or not at all).

    Raises:
        ConfigError: matplotlib is missing.
    """
    document = render_report(snapshot, index_name, entries=entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(document, encoding="utf-8")
    tmp.replace(path)
    return path
