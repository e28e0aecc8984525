"""The mock's SSE encoding: :mod:`servekit.sse`, the one encoder the mock and the gateway share."""

from servekit.sse import DONE, dumps, dumps_bytes, encode_comment, encode_event

__all__ = ["DONE", "dumps", "dumps_bytes", "encode_comment", "encode_event"]
