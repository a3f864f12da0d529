"""Orchestration over definitions, mapping and state; free of AWS and HTTP clients."""
