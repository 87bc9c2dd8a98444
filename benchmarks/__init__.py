"""Benchmarks: bounded load tests against the app on the loopback interface (`python -m benchmarks`)."""
