"""End-to-end tests: scheduled syncs of sandbox stores through the real handlers on the local stack."""
