"""pytest plugin (registered via the ``pytest11`` entry point): filled in by the scenario engine work."""
