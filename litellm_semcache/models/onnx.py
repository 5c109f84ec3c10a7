"""ONNX Runtime sessions for every model the package runs on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(path: Path, threads: int = 1, spin: bool = False) -> Any:
    """A CPU inference session on ``threads`` cores.

    ``spin`` lets idle worker threads spin: only the embedder's lone-query session does. Measured at a
    proxy's request spacing on 2 cores (``benchmarks/model_threads.py``): two spinning threads embed a lone
    query in 3.5 ms instead of 4.8 on one, but a verifier pass on two spinning threads is no faster and far
    less steady (p90 8.5 ms against 5.0 on one thread; embed + verify p50 11.6 ms against 7.8 with the
    verifier on one thread), and spinning threads burn the cores the event loop needs under load.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
