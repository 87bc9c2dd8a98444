"""Benchmarks: the performance figures, one script each, named by what they measure (`python -m benchmarks`) and a bounded load test
against the app on the loopback interface (`python -m benchmarks.load`, or `--load`)."""
