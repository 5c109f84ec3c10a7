"""ONNX Runtime sessions for every model the package runs on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(path: Path, threads: int) -> Any:
    """A CPU inference session on ``threads`` cores.

    Spinning worker threads answer sooner but burn the cores they wait on: only multi-threaded sessions
    (a lone query on a quiet proxy, where latency is what counts) spin; single-threaded ones (batches on a
    busy proxy, where CPU is what counts) do not.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if threads > 1 else "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
