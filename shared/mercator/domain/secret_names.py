"""Where each kind of Mercator secret lives in Secrets Manager: one name prefix per kind.

IAM grants each function the kinds it uses by these prefixes (template.yaml), so a name built
anywhere else than here is a secret no function can read::

    mercator/credentials/<tenant>/<integration>   an integration's credentials (a JSON object of strings)
    mercator/oauth-apps/<connector>               a connector's OAuth app ({"clientId", "clientSecret", ...})
    mercator/oauth-state/<name>                   the key that signs OAuth install states (the template
                                                  declares mercator/oauth-state/key-<stage>)
    mercator/vapid/<name>                         the VAPID key pair of Web Push
    mercator/<tenant>/webhook-keys/<name>         a tenant's signing keys of workflow webhooks (whsec_...)

Tenant, integration and connector names hold no ``/``, and no tenant may be named like a kind
(``RESERVED_TENANTS``), so no name of one kind is ever matched by another kind's prefix.

Who may do what with each kind is template.yaml's business (tests/sam/test_secret_access.py keeps
the table): every function that calls a provider reads credentials and OAuth apps and stores renewed
tokens back; only the Integrations API and the OAuth install create and delete credentials; only
the OAuth install reads the state key; only the functions that run workflow actions read VAPID and
webhook signing keys.
"""

from __future__ import annotations

from typing import Final

ROOT: Final = "mercator"
CREDENTIALS: Final = f"{ROOT}/credentials/"
OAUTH_APPS: Final = f"{ROOT}/oauth-apps/"
OAUTH_STATE: Final = f"{ROOT}/oauth-state/"
VAPID: Final = f"{ROOT}/vapid/"
WEBHOOK_KEYS: Final = "webhook-keys"

# The first segments under mercator/ that belong to a kind: a tenant so named would share them.
RESERVED_TENANTS: Final = frozenset({"credentials", "oauth-apps", "oauth-state", "vapid", WEBHOOK_KEYS})

_ARN_MARK = ":secret:"


def credentials_secret_name(tenant_id: str, integration_id: str) -> str:
    """The secret holding an integration's credentials."""
    return f"{CREDENTIALS}{_part(tenant_id, 'tenant')}/{_part(integration_id, 'integration id')}"


def oauth_app_secret_name(connector: str) -> str:
    """The secret holding a connector's OAuth app."""
    return f"{OAUTH_APPS}{_part(connector, 'connector')}"


def webhook_key_prefix(tenant_id: str) -> str:
    """What the name of each of the tenant's webhook signing keys starts with.

    ``mercator/<tenant>/webhook-keys/``: the tenant's own part of ``mercator/``, then the kind.
    """
    return f"{ROOT}/{_part(tenant_id, 'tenant')}/{WEBHOOK_KEYS}/"


def is_reserved_tenant(tenant_id: str) -> bool:
    """True for a tenant id that would put its secrets among another kind's (any letter case)."""
    return tenant_id.lower() in RESERVED_TENANTS


def secret_name_of(secret_id: str) -> str:
    """The name in a secret id, which is a name or an ARN (``arn:...:secret:<name>-<6 random characters>``).

    An ARN's random suffix is kept: prefixes are what the callers compare, and they end before it.
    """
    _, mark, name = secret_id.partition(_ARN_MARK)
    return name if mark and secret_id.startswith("arn:") else secret_id


def is_under(prefix: str, secret_id: str) -> bool:
    """True when the secret named (or ARN'd) by ``secret_id`` has ``prefix`` and something after it."""
    name = secret_name_of(secret_id)
    return name.startswith(prefix) and len(name) > len(prefix)


def is_webhook_key_of(tenant_id: str, secret_id: str) -> bool:
    """True when ``secret_id`` names one of the tenant's webhook signing keys."""
    if "/" in tenant_id or not tenant_id or is_reserved_tenant(tenant_id):
        return False
    return is_under(webhook_key_prefix(tenant_id), secret_id)


def _part(value: str, what: str) -> str:
    if not value or "/" in value:
        raise ValueError(f"a {what} in a secret name must be non-empty and hold no '/', got {value!r}")
    return value
