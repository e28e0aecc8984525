"""Bearer JWT auth (HS256): minting tokens for tests and tools, and checking them.

Only HS256 is accepted: a token signed with another algorithm, or with ``alg: none``, is refused
the same way as a wrong signature. ``exp`` and ``sub`` are required; ``exp``, ``iat`` and ``nbf``
must be numbers (PyJWT would take ``"1700000000"``), and a token may not live longer than the
gateway's maximum lifetime (``JWT_MAX_TTL_S``, a day by default). Whatever the header holds,
the answer is a 401 with a reason, never an exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 8192  # a JWT of a few claims is a few hundred characters
TIME_CLAIMS = ("exp", "iat", "nbf")


class AuthError(Exception):
    """Why a request is not authenticated: answered with 401 and this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    claims: dict[str, Any]


def mint_token(secret: str, sub: str = "test-user", ttl_s: float = 3600, **claims: Any) -> str:
    """An HS256 token for ``sub`` that expires in ``ttl_s`` seconds (negative: already expired)."""
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "exp": now + int(ttl_s), **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise AuthError("missing_token", "Missing Authorization header: send 'Authorization: Bearer <JWT>'.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing_token", "The Authorization header must be 'Bearer <JWT>'.")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("invalid_token", f"The token is too long: at most {MAX_TOKEN_CHARS} characters.")
    if not token.isascii():
        raise AuthError("invalid_token", "The token is not a valid JWT (it holds non-ASCII characters).")
    return token


def verify_token(
    token: str, secret: str, audience: str | None = None, max_ttl_s: float | None = None
) -> Principal:
    options: dict[str, Any] = {"require": ["exp", "sub"], "verify_aud": audience is not None}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience, options=options)
    except jwt.ExpiredSignatureError:
        raise AuthError("token_expired", "The token has expired: sign in again.") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("invalid_token", f"The token is not signed with {ALGORITHM}.") from None
    except jwt.InvalidSignatureError:
        raise AuthError("invalid_token", "The token's signature does not match.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("invalid_token", f"The token has no '{exc.claim}' claim.") from None
    except jwt.InvalidAudienceError:
        raise AuthError("invalid_token", "The token is not meant for this service (aud).") from None
    except jwt.DecodeError:
        raise AuthError("invalid_token", "The token is not a valid JWT.") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError("invalid_token", f"The token is not valid: {exc}.") from None
    except (ValueError, TypeError, OverflowError):  # e.g. an exp of 1e400: no date at all
        raise AuthError("invalid_token", "The token is not a valid JWT.") from None
    for claim in TIME_CLAIMS:
        value = claims.get(claim)
        if claim in claims and not _is_time(value):
            raise AuthError(
                "invalid_token", f"The token's '{claim}' claim must be a number of seconds since the epoch."
            )
    if max_ttl_s is not None and claims["exp"] - time.time() > max_ttl_s:
        raise AuthError(
            "invalid_token",
            f"The token lives too long: it may expire at most {max_ttl_s:g} s from now (JWT_MAX_TTL_S).",
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("invalid_token", "The token's 'sub' claim must be a non-empty string.")
    return Principal(sub=sub, claims=claims)


MAX_EPOCH_S = 1e11  # the year 5138: a later "date" is not one (and 10**400 is no float at all)


def _is_time(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < MAX_EPOCH_S  # also False for NaN and the infinities


def authenticate(
    authorization: str | None, secret: str, audience: str | None = None, max_ttl_s: float | None = None
) -> Principal:
    return verify_token(bearer_token(authorization), secret, audience, max_ttl_s)


class TokenCache:
    """Verified tokens, kept while their ``exp`` holds: a client streams many turns with one token,
    and an HS256 check (PyJWT's decode and claim checks) was ~0.5 ms of every request's CPU.

    Only a token that passed :func:`verify_token` with this secret and audience is kept, keyed
    by its exact text, so a cached answer is the answer a fresh check would give until ``exp``
    (then the token is checked again, and refused as expired). At most ``size`` tokens are kept;
    the oldest go first.
    """

    def __init__(
        self,
        secret: str,
        audience: str | None = None,
        size: int = 4096,
        clock: Callable[[], float] = time.time,
        max_ttl_s: float | None = None,
    ) -> None:
        self.secret = secret
        self.audience = audience
        self.max_ttl_s = max_ttl_s
        self.size = size
        self.clock = clock
        self._valid: dict[str, tuple[float, Principal]] = {}

    def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        hit = self._valid.get(token)
        if hit is not None:
            if self.clock() < hit[0]:
                return hit[1]
            del self._valid[token]
        principal = verify_token(token, self.secret, self.audience, self.max_ttl_s)
        exp = principal.claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            if len(self._valid) >= self.size:
                del self._valid[next(iter(self._valid))]
            self._valid[token] = (float(exp), principal)
        return principal
