"""docker-compose.yml is checked against the proxy config (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def _env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def test_redis_stack_service_is_persistent_health_checked_and_password_protected() -> None:
    redis = _compose()["services"]["redis"]
    assert redis["image"].startswith("redis/redis-stack-server:")
    args = redis["environment"]["REDIS_ARGS"]
    assert "--appendonly yes" in args and "--requirepass" in args
    volume, target = redis["volumes"][0].split(":")[:2]
    assert target == "/data" and volume in _compose()["volumes"]
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_proxy_service_runs_the_plugin_with_the_mounted_config() -> None:
    compose = _compose()
    proxy = compose["services"]["litellm"]
    assert proxy["build"] == "."
    assert proxy["depends_on"]["redis"]["condition"] == "service_healthy"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in proxy["volumes"]}
    config_in_container = proxy["command"][proxy["command"].index("--config") + 1]
    assert mounts[config_in_container] == "./litellm_config.yaml"
    port = proxy["command"][proxy["command"].index("--port") + 1]
    assert any(mapping.endswith(f":{port}") for mapping in proxy["ports"])
    # The cache's Redis is the compose service, with the password the Redis service requires.
    url = proxy["environment"]["REDIS_URL"]
    assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD:-[^}]+\}@redis:6379/\d+", url), url
    config = yaml.safe_load((ROOT / "litellm_config.yaml").read_text())
    assert "litellm_semcache.semantic_cache" in config["litellm_settings"]["callbacks"]
    assert config["litellm_semcache"]["redis_url"] == "os.environ/REDIS_URL"


def test_keys_come_from_the_env_file_and_cover_the_config() -> None:
    proxy = _compose()["services"]["litellm"]
    assert proxy["env_file"] == ".env"
    example = _env_example()
    referenced = set(re.findall(r"os\.environ/([A-Z0-9_]+)", (ROOT / "litellm_config.yaml").read_text()))
    provided = set(example) | set(proxy["environment"])
    assert referenced <= provided, referenced - provided
    assert "LITELLM_MASTER_KEY" in example and "REDIS_PASSWORD" in example
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_image_installs_the_plugin_and_uses_the_mounted_config_path() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install torch" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    assert re.search(r'pip install "\.\[[^]]*offline-model[^]]*\]"', dockerfile)
    command = _compose()["services"]["litellm"]["command"]
    assert command[command.index("--config") + 1] in dockerfile


# --- Prometheus and Grafana with the cache's dashboard ----------------------------------------------------
def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path of a service's bind mounts."""
    return {m.split(":")[1]: m.split(":")[0] for m in service["volumes"] if m.startswith("./")}


def test_prometheus_scrapes_the_proxys_semcache_metrics() -> None:
    from litellm_semcache.integrations.litellm.routes import METRICS_PATH

    compose = _compose()
    prometheus = compose["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    config_path = prometheus["command"][0].split("=", 1)[1]
    host_config = _mounts(prometheus)[config_path]
    config = yaml.safe_load((ROOT / host_config).read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == METRICS_PATH
    proxy = compose["services"]["litellm"]
    port = proxy["command"][proxy["command"].index("--port") + 1]
    assert job["static_configs"][0]["targets"] == [f"litellm:{port}"]
    assert prometheus["depends_on"]["litellm"]["condition"] == "service_healthy"
    volume = next(m.split(":")[0] for m in prometheus["volumes"] if not m.startswith("./"))
    assert volume in compose["volumes"]


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard() -> None:
    compose = _compose()
    grafana = compose["services"]["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    assert "prometheus" in grafana["depends_on"]
    mounts = _mounts(grafana)
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    prometheus_port = _compose()["services"]["prometheus"]["ports"][0].split(":")[-1]
    assert datasource["type"] == "prometheus" and datasource["url"] == f"http://prometheus:{prometheus_port}"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "semcache.yml").read_text())["providers"]
    dashboards_in_container = provider["options"]["path"]
    dashboards = ROOT / mounts[dashboards_in_container]
    dashboard = json.loads((dashboards / "semcache.json").read_text())
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_in_container)
    # every panel and query uses the provisioned datasource
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {datasource["uid"]}
    assert "GRAFANA_ADMIN_PASSWORD" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert "GRAFANA_ADMIN_PASSWORD" in _env_example()


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "semcache.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "semcache_hit_ratio",
        "semcache_requests_total",
        "semcache_wrong_hit_rate",
        "semcache_tokens_saved_total",
        "semcache_cost_saved_usd_total",
        "semcache_similarity_hit_bucket",
        "semcache_verifier_score_hit_bucket",
        "semcache_not_cacheable_total",
        "semcache_audit_cost_usd_total",
        "semcache_would_be_hit_ratio",
    ):
        assert metric in queries, metric
    for bound in ("estimate", "lower", "upper"):
        assert f'bound="{bound}"' in queries
    panels = [p["gridPos"] for p in dashboard["panels"]]
    assert all(g["x"] >= 0 and g["x"] + g["w"] <= 24 for g in panels)
