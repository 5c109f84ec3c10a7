"""What the tests and the benchmarks share: the real services they start (Redis Stack, the stock LiteLLM
proxy, the fake upstream provider) and the measurement helpers. Imported from the repository root
(pytest's root, or ``python -m benchmarks.<name>``); not part of the installed package."""
