"""PKCE (RFC 7636) for OAuth installs: a verifier per install, its S256 challenge, and a token client
that sends the verifier with the code.

The verifier is 64 characters of the unreserved alphabet (RFC 7636 section 4.1 asks for 43 to 128) from
48 random bytes; the challenge is BASE64URL(SHA256(ASCII(verifier))) without padding (section 4.2). The
verifier stays with Mercator: it is sealed beside the install's nonce and sent only to the token
endpoint, never to the browser, a response or a log.

The token endpoint client (mercator.providers.oauth_tokens.OAuthTokenClient) sends the verifier with
the code and redacts it from every message.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

CHALLENGE_METHOD = "S256"
_VERIFIER_BYTES = 48
# RFC 7636 section 4.1: code-verifier = 43*128unreserved
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def new_code_verifier() -> str:
    """A fresh verifier: 64 characters from 48 random bytes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_VERIFIER_BYTES)).decode("ascii").rstrip("=")


def check_verifier(verifier: str) -> None:
    """ValueError when ``verifier`` is not a verifier RFC 7636 allows."""
    if not VERIFIER.fullmatch(verifier):
        raise ValueError("a PKCE code verifier is 43 to 128 unreserved characters (RFC 7636 section 4.1)")


def code_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``; ValueError when it is not a verifier RFC 7636 allows."""
    check_verifier(verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
