"""Fault injection, storms, fuzzing and load: what RestoreWatch guarantees when AWS fails.

The security tests (tests/security/) run in this suite's world (``conftest``, ``stack``, ``injection``).
"""
