"""`litellm-semcache report`: the dashboard's figures as one static HTML file with inline charts."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from litellm_semcache.ops.metrics import Metrics
from litellm_semcache.ops.report import write_report
from litellm_semcache.ops.snapshot import Snapshot


def busy_snapshot() -> Snapshot:
    metrics = Metrics("t:stats")
    cell = ("support", "team:4f2a")
    for _ in range(6):
        metrics.lookup("hit", "semantic", 0.91, 0.97, cell=cell)
    for _ in range(4):
        metrics.lookup("miss", "below_threshold", 0.78, 0.2, cell=cell)
    for _ in range(3):
        metrics.lookup("hit", "semantic", 0.9, 0.95, shadow=True, cell=("trial", "team:4f2a"))
    metrics.lookup("miss", "no_candidates", shadow=True, cell=("trial", "team:4f2a"))
    metrics.lookup("filtered", "class:private")
    for verdict in ("agreed", "agreed", "disagreed"):
        metrics.compared("shadow", verdict, ("trial", "team:4f2a"))
        metrics.compared("audit", verdict, cell)
        metrics.audit(verdict)
    metrics.feedback(False, cell)
    metrics.invalidated("audit")
    with metrics._lock:
        values = {**dict(metrics._counts), **dict(metrics._floats), "tokens_saved": 420, "audit_tokens": 66}
    return Snapshot.from_hash({k: str(v) for k, v in values.items()})


def test_the_report_is_one_html_file_with_the_key_figures_and_inline_charts(tmp_path: Path) -> None:
    path = write_report(tmp_path / "out" / "report.html", busy_snapshot(), "semcache", entries=12)
    document = path.read_text(encoding="utf-8")
    assert document.startswith("<!doctype html>")
    for figure in (
        "Hit rate (serve)</td><td>60.0% of 10 lookups",
        "Would-be hit rate (shadow)</td><td>75.0% of 4 shadow lookups",
        "Estimated wrong-hit rate (shadow)",
        "1 of 3 disagreed, observed 33.3%",
        "Estimated wrong-hit rate (audits)",
        "Tokens saved</td><td>420",
        "Audit spend</td><td>66 tokens",
        "Feedback</td><td>1 wrong, 0 correct",
        "Entries</td><td>12",
        "support",
        "trial",
    ):
        assert figure in document, figure
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', document)
    assert len(images) >= 5
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert "Kept out and missed, by reason" in document


def test_an_empty_cache_still_gets_a_report(tmp_path: Path) -> None:
    document = write_report(tmp_path / "r.html", Snapshot.from_hash({}), "semcache").read_text()
    assert "no comparisons yet" in document and "(no per-tenant counts)" in document
