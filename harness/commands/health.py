"""``harness health``: check an OpenAI-compatible endpoint (models, chat, chat streaming)."""

from __future__ import annotations

import argparse
import asyncio
import os

HELP = "check an OpenAI-compatible endpoint: /models, chat, and chat streaming, one verdict each"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="the endpoint's base URL, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="API key sent as a Bearer token (default: $OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="model to test chat with (default: the first one /models lists); never switched on failure",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request (default 15)")


def run(args: argparse.Namespace) -> int:
    from ..connectors.health import check_openai_compatible

    if not args.base_url:
        print("harness health: --base-url is required (or set OPENAI_BASE_URL)")
        return 2
    if not args.api_key:
        print("harness health: --api-key is required (or set OPENAI_API_KEY)")
        return 2
    report = asyncio.run(
        check_openai_compatible(args.base_url, args.api_key, args.model, timeout_s=args.timeout)
    )
    print(report.format())
    return 0 if report.ok else 1
