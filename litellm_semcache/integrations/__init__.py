"""Integrations with LLM gateways and SDKs; the pipeline itself imports none of them."""
