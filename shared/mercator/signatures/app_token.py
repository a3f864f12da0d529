"""The PIM app token: the ``X-APP-TOKEN`` JWT every catalog-events request carries.

HS256 with the app installation's shared secret, and nothing else: a token naming another algorithm
(``none``, RS256 with the secret as a public key) is refused before its signature is looked at.
``exp`` and ``nbf`` are checked when present, with a minute of leeway for the PIM's clock; with an
expected installation id, ``app_installation_id`` must equal it. VerificationError's reason is safe
to log: never the token or the secret.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import jwt

from mercator.signatures.primitives import VerificationError

ALGORITHM = "HS256"
LEEWAY_SECONDS = 60
# RFC 7518 3.2 asks 32 bytes of an HS256 key; one under 16 is refused as a mistake (a truncated paste),
# as a signature checked with it would prove little.
MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class AppClaims:
    """What the token says about the request."""

    installation_id: str | None
    synchronization_id: str | None


def verify_app_token(
    token: str | None, secret: str, *, installation_id: str | None = None, now: float | None = None
) -> AppClaims:
    """The token's claims once its signature, algorithm, times and installation check out."""
    if not token:
        raise VerificationError("no X-APP-TOKEN header")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise VerificationError(f"the integration's app secret is shorter than {MIN_SECRET_BYTES} bytes")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise VerificationError("X-APP-TOKEN is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise VerificationError(f"X-APP-TOKEN is signed with {header.get('alg')!r}; only HS256 is accepted")
    # Times are checked below against the caller's clock (injectable in tests), not PyJWT's.
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False}
    try:
        with warnings.catch_warnings():
            # The secret's length is the installation's, checked above: PyJWT's warning for one under
            # 32 bytes would otherwise be logged at every request.
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)  # type: ignore[arg-type]
    except jwt.InvalidSignatureError:
        raise VerificationError("X-APP-TOKEN's signature does not match the app secret") from None
    except jwt.PyJWTError as exc:
        raise VerificationError(f"X-APP-TOKEN is invalid: {type(exc).__name__}") from None
    _check_times(claims, time.time() if now is None else now)
    installation = _text(claims.get("app_installation_id"))
    if installation_id is not None and installation != installation_id:
        raise VerificationError("X-APP-TOKEN is for another app installation")
    return AppClaims(installation_id=installation, synchronization_id=_text(claims.get("synchronization_id")))


def _check_times(claims: dict[str, object], now: float) -> None:
    for name in ("exp", "nbf"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise VerificationError(f"X-APP-TOKEN's {name} is not a number of seconds")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, int | float) and now > exp + LEEWAY_SECONDS:
        raise VerificationError("X-APP-TOKEN has expired")
    if isinstance(nbf, int | float) and now < nbf - LEEWAY_SECONDS:
        raise VerificationError("X-APP-TOKEN is not valid yet (nbf in the future)")


def _text(value: object) -> str | None:
    return None if value is None else str(value)
