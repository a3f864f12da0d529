"""The provider client against the sandbox store."""
