"""Mercator: a serverless sync engine driven by declarative connector definitions."""

__version__ = "0.1.0"
