"""A fault-injecting mock of the OpenAI API that replays YAML scenarios."""

__version__ = "0.1.0"
