"""Helpers only the test suite uses (stacks of real processes and servers, rogue peers, database users).

Shared with the benchmarks: ``onlineconnect.testing`` (processes, fakes, cluster, WAN emulator, relay invariants).
"""
