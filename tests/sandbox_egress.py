"""The egress policy of tests whose stores answer in process at made-up hosts.

Their transports (httpx.ASGITransport, MockTransport) stand in for the network, so the address guard
never runs; what still applies is which hosts a tenant's store address may name. The sandbox stores
sit under ``*.sandbox.test`` or on loopback (the addresses of events/), as the operator's
``EGRESS_ALLOWED_HOSTS`` and the local stack's ``EGRESS_ALLOW_LOOPBACK`` would let them.
"""

from __future__ import annotations

from mercator.providers.egress import EgressPolicy

SANDBOX_HOSTS = "*.sandbox.test"
SANDBOX_EGRESS = EgressPolicy(allow_loopback=True, allowed_hosts=(SANDBOX_HOSTS,))
