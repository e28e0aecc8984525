"""The ``replay`` response kind: what an upstream really sent, to be sent again exactly.

A scenario's ``response:`` (or one step's) says ``replay:`` with the recorded answer::

    response:
      replay:
        status: 200
        headers: {x-request-id: req_8c1f, openai-processing-ms: "212"}
        delay_ms: 180.2          # before the status line (the upstream's time to headers)
        events:                  # an SSE stream: every frame as it came, comments included,
          - {delay_ms: 35.1, raw: "data: {...}\\n\\n"}   # with its delay from the previous one
          - {delay_ms: 12.0, raw: ": keep-alive\\n\\n"}
        ending: dropped          # how it ended after the last frame (default: complete)

or ``body:`` (a string sent byte for byte, or a mapping/list sent as JSON) instead of
``events:``. Big payloads (base64 images) may live in a side file next to the scenario:
``events_file: NAME.frames.jsonl`` (one ``{"delay_ms": .., "raw": ..}`` per line; ``raw_base64``
for bytes that are not UTF-8) or ``body_file: NAME.body`` (the body's bytes). A side file is
named relative to the scenario's folder and stays inside it; its problems are reported as
``SIDE_FILE:LINE: FIELD: ...`` like the scenario's own.

The parser (:func:`parse`) works on the schema module's parser; :mod:`mockserver.replay` turns a
:class:`ReplaySpec` into a Reply, so the step's faults apply on top of it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import choice, headers, number, with_schema

_Parser = Any  # the schema module's parser (problem, field, mapping, known_keys, path)

ENDINGS = ("complete", "dropped", "reset", "truncated")
MAX_SIDE_FILE_BYTES = 64 * 1024 * 1024  # the mock's own request bound
MAX_FRAMES = 100_000


@dataclass(slots=True, frozen=True)
class ReplayFrame:
    raw: bytes  # the frame exactly as it came, its blank line included
    delay_ms: float = 0.0  # after the previous frame (the first: after the status line)


@dataclass(slots=True)
class ReplaySpec:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: float = 0.0  # before the status line
    body: Any = None  # str/bytes: sent as is; dict/list: JSON
    events: list[ReplayFrame] | None = None  # not None: an SSE stream
    ending: str = "complete"

    @property
    def streaming(self) -> bool:
        return self.events is not None


MAX_DELAY_MS = 3_600_000  # an hour: a recorded wait, never 'forever' by accident
FIELDS = ("status", "headers", "delay_ms", "body", "body_file", "events", "events_file", "ending")
_FRAME = {
    "type": "object",
    "properties": {
        "delay_ms": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_MS},
        "raw": {"type": "string", "minLength": 1},
        "raw_base64": {"type": "string", "minLength": 1},
    },
    "oneOf": [{"required": ["raw"]}, {"required": ["raw_base64"]}],
    "additionalProperties": False,
}
_SIDE_FILE = {"type": "string", "minLength": 1, "description": "a file next to the scenario"}


# the plain fields of a replay, checked (and published) like every other field of the schema
CHECKS: dict[str, Callable[[Any], Any]] = {
    "status": number(200, 599, integer=True),  # a 1xx is no answer to replay
    "headers": headers,
    "delay_ms": number(0, MAX_DELAY_MS),
    "ending": choice(ENDINGS),
}
JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "what an upstream really sent (mockopenai record), sent again exactly",
    "properties": {
        **{key: dict(check.json_schema) for key, check in CHECKS.items()},  # type: ignore[attr-defined]
        "body": {"type": ["string", "object", "array"]},
        "body_file": _SIDE_FILE,
        "events": {"type": "array", "items": _FRAME},
        "events_file": _SIDE_FILE,
    },
    "additionalProperties": False,
    "oneOf": [{"required": [key]} for key in ("body", "body_file", "events", "events_file")],
}


@with_schema(JSON_SCHEMA)
def check(value: Any) -> Any:
    return value  # what it holds is parsed by :func:`parse`, with its lines and side files


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _side_file(parser: _Parser, m: Any, key: str, where: str) -> Path | None:
    """The side file ``m[key]`` names, inside the scenario's folder."""
    value = m[key]
    line = m.key_lines.get(key, m.line)
    if not isinstance(value, str) or not value.strip():
        parser.problem(line, f"{where}.{key}", "expected the name of a file next to the scenario")
        return None
    try:
        folder = Path(parser.path).resolve().parent
        target = (folder / value).resolve()
        outside = Path(value).is_absolute() or not target.is_relative_to(folder)
        kind = "outside" if outside else "file" if target.is_file() else "folder" if target.exists() else None
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        parser.problem(line, f"{where}.{key}", f"not a usable file name: {reason}")
        return None
    if kind == "outside":
        parser.problem(
            line, f"{where}.{key}", f"{value!r} is outside the scenario's folder; name a file in it"
        )
        return None
    if kind != "file":
        what = "not a regular file" if kind == "folder" else "no such file"
        parser.problem(line, f"{where}.{key}", f"{what}: {Path(parser.path).parent / value}")
        return None
    if target.stat().st_size > MAX_SIDE_FILE_BYTES:
        parser.problem(line, f"{where}.{key}", f"larger than {MAX_SIDE_FILE_BYTES} bytes")
        return None
    return target


def _frame(parser: _Parser, value: Any, path: str, line: int, where: str) -> ReplayFrame | None:
    def bad(message: str) -> None:
        parser.problems.append(f"{path}:{line}: {where}: {message}")
        parser.lines.append(line if path == parser.path else 10**9)

    if not isinstance(value, dict):
        bad("expected a mapping with 'raw' (or 'raw_base64') and 'delay_ms'")
        return None
    unknown = [k for k in value if k not in ("delay_ms", "raw", "raw_base64")]
    if unknown:
        bad(f"unknown field '{unknown[0]}' for a frame; expected delay_ms, raw or raw_base64")
        return None
    delay = value.get("delay_ms", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY_MS:
        bad(f"delay_ms: expected a number between 0 and {MAX_DELAY_MS}, got {delay!r}")
        return None
    if ("raw" in value) == ("raw_base64" in value):
        bad("expected exactly one of raw or raw_base64")
        return None
    if "raw" in value:
        raw = value["raw"]
        if not isinstance(raw, str) or not raw:
            bad(f"raw: expected the frame's text, got {raw!r}")
            return None
        data = raw.encode("utf-8", errors="surrogateescape")
    else:
        try:
            data = base64.b64decode(value["raw_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            bad("raw_base64: expected base64 text")
            return None
        if not data:
            bad("raw_base64: expected at least one byte")
            return None
    return ReplayFrame(data, float(delay))


def _frames_inline(parser: _Parser, value: Any, line: int, where: str) -> list[ReplayFrame] | None:
    if not isinstance(value, list):
        parser.problem(line, where, "expected a list of frames ({delay_ms, raw})")
        return None
    lines = getattr(value, "item_lines", [line] * len(value))
    frames = [
        _frame(parser, v, parser.path, ln, f"{where}[{i}]")
        for i, (v, ln) in enumerate(zip(value, lines, strict=False))
    ]
    return None if any(f is None for f in frames) else frames  # type: ignore[return-value]


def _frames_file(parser: _Parser, target: Path, shown: str, where: str) -> list[ReplayFrame] | None:
    frames: list[ReplayFrame] = []
    ok = True
    index = -1  # the frame a line holds, good or bad
    with target.open("rb") as fh:
        for n, raw_line in enumerate(fh, start=1):
            if not raw_line.strip():
                continue
            index += 1
            try:
                value = json.loads(raw_line)
            except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
                parser.problems.append(f"{shown}:{n}: {where}: not JSON: {reason}")
                parser.lines.append(10**9)
                ok = False
                continue
            frame = _frame(parser, value, shown, n, f"{where}[{index}]")
            if frame is None:
                ok = False
            else:
                frames.append(frame)
            if len(frames) > MAX_FRAMES:
                parser.problems.append(f"{shown}:{n}: {where}: more than {MAX_FRAMES} frames")
                parser.lines.append(10**9)
                return None
    return frames if ok else None


def parse(parser: _Parser, value: Any, line: int, where: str) -> ReplaySpec | None:
    """A ``replay:`` block, every problem reported through ``parser`` with its file and line."""
    m = parser.mapping(value, line, where)
    if m is None:
        return None
    count = len(parser.problems)
    parser.known_keys(m, FIELDS, where, "replay")
    sources = [k for k in ("body", "body_file", "events", "events_file") if k in m]
    if len(sources) != 1:
        parser.problem(
            m.line,
            where,
            "expected exactly one of body, body_file, events or events_file"
            + (f"; got {', '.join(sources)}" if sources else ""),
        )
    spec = ReplaySpec()
    for key in ("status", "headers", "delay_ms", "ending"):
        if key in m:
            checked = parser.field(m, key, f"{where}.{key}", CHECKS[key])
            if checked is not None:
                setattr(spec, key, checked)
    if "body" in m:
        body = m["body"]
        if not isinstance(body, (str, dict, list)):
            parser.problem(m.key_lines["body"], f"{where}.body", "expected a string, a mapping or a list")
        else:
            spec.body = _plain(body)
    if "body_file" in m:
        target = _side_file(parser, m, "body_file", where)
        if target is not None:
            spec.body = target.read_bytes()
    if "events" in m:
        spec.events = _frames_inline(parser, m["events"], m.key_lines["events"], f"{where}.events")
    if "events_file" in m:
        target = _side_file(parser, m, "events_file", where)
        if target is not None:
            shown = str(Path(parser.path).parent / m["events_file"])
            spec.events = _frames_file(parser, target, shown, f"{where}.events_file")
    if len(parser.problems) > count:
        return None
    return spec
