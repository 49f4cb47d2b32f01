"""Helpers shared by the tests and the benchmarks: a moto server, its request log, playbook runs."""
