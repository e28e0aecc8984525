"""``harness token``: a signed HS256 JWT for calling the gateway by hand (curl, EventSource)."""

from __future__ import annotations

import argparse
import os

HELP = "print a JWT signed with JWT_SECRET, for calling the gateway by hand"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sub", default="test-user-id", help="the token's subject (default test-user-id)")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    p.add_argument("--secret", default=None, help="the HS256 secret (default: JWT_SECRET)")


def run(args: argparse.Namespace) -> int:
    from harness.gateway.auth import mint_token

    secret = args.secret or os.environ.get("JWT_SECRET")
    if not secret:
        print("harness token: JWT_SECRET is not set (or pass --secret)")
        return 2
    print(mint_token(secret, sub=args.sub, ttl_s=args.ttl))
    return 0
