"""Bearer JWT auth (HS256): minting tokens for tests and tools, and checking them.

Only HS256 is accepted: a token signed with another algorithm, or with ``alg: none``, is refused
the same way as a wrong signature. ``exp`` and ``sub`` are required.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"


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
    return token.strip()


def verify_token(token: str, secret: str, audience: str | None = None) -> Principal:
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
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("invalid_token", "The token's 'sub' claim must be a non-empty string.")
    return Principal(sub=sub, claims=claims)


def authenticate(authorization: str | None, secret: str, audience: str | None = None) -> Principal:
    return verify_token(bearer_token(authorization), secret, audience)


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
    ) -> None:
        self.secret = secret
        self.audience = audience
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
        principal = verify_token(token, self.secret, self.audience)
        exp = principal.claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            if len(self._valid) >= self.size:
                del self._valid[next(iter(self._valid))]
            self._valid[token] = (float(exp), principal)
        return principal
