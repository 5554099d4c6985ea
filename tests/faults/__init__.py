"""Fault injection, storms, fuzzing, tampering, least privilege and load: what RestoreWatch guarantees."""
