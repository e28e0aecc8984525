"""The reference stack checked against the mock: gateway, connectors, pytest plugin, CLI."""

__version__ = "0.1.0"
