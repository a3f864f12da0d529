"""Webhook signatures: verifying what platforms send and signing what Mercator sends, for every strategy."""
