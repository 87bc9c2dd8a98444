"""Benchmarks: the performance figures of issue 7 (`python -m benchmarks`) and a bounded load test
against the app on the loopback interface (`python -m benchmarks.load`, or `--load`)."""
