"""Benchmarks of litellm-semcache against LiteLLM's own caches (see ``benchmarks/latency.py``)."""
