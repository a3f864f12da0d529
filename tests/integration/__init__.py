"""Integration tests: Mercator's parts working together against in-process stand-ins."""
