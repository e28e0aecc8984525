"""Scenarios: the schema of a scenario file, loading and validation, faults, and the engine."""
