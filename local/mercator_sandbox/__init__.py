"""The sandbox store: a provider emulator for developing and testing connectors offline."""
