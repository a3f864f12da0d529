"""Mercator's HTTP interface: the routes of its API functions and the one resolver they answer through.

``resolver`` makes the resolver (request validation, the error envelope, the tenant from the
authorizer); ``integration_routes`` and ``oauth_routes`` are the routes of the Integrations API and of
OAuth installs, each a Router that a function's handler includes in its resolver.
"""
