"""Recorded exchanges as a scenario file a user could have written.

One session's exchanges are the attempts of one scenario, in order, and the last one is what
later attempts get (``then``); a single exchange is the scenario's ``response``. An OpenAI-shaped
error answer (a 429 with its headers, a 503) becomes an ``http_error`` step, an HTML error page
an ``html_error`` step, anything else a ``replay`` of what came. Big payloads go to side files
next to the scenario. Credentials never reach a file: the request's key (as it came and as
OpenAI masks it in its messages) is replaced wherever it appears, and ``--redact`` adds header
names and JSON paths.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import yaml

from ..errors import mask_key
from ..scenario.replay_spec import ReplayFrame
from ..scenario.schema import parse_text
from .exchange import Exchange, headers_content_type

REDACTED = "[REDACTED]"
SIDE_FILE_BYTES = 16 * 1024  # an exchange's frames or body above this go to a side file
MAX_INLINE_TOTAL = 192 * 1024  # a scenario file stays well below the schema's bound


class Redactor:
    """What must not reach a file: credentials, and the header names and JSON paths asked for."""

    def __init__(self, redact: list[str] | tuple[str, ...] = ()) -> None:
        self.headers = {r.lower() for r in redact if not r.startswith("$")}
        self.paths = [r for r in redact if r.startswith("$")]
        self._compiled: list[Any] | None = None
        self.secrets: set[bytes] = set()

    def add_secrets(self, secrets: list[str]) -> None:
        for s in secrets:
            self.secrets.add(s.encode())
            self.secrets.add(mask_key(s).encode())

    def _jsonpaths(self) -> list[Any]:
        if self._compiled is None:
            from jsonpath_ng.ext import parse  # only when --redact names a JSON path

            self._compiled = [parse(p) for p in self.paths]
        return self._compiled

    def scrub(self, data: bytes) -> bytes:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in data:
                data = data.replace(secret, REDACTED.encode())
        return data

    def header_values(self, headers: dict[str, str]) -> dict[str, str]:
        out = {}
        for k, v in headers.items():
            # aiohttp decodes header bytes that are not UTF-8 as surrogates: keep them, readable
            raw = v.encode("utf-8", "surrogateescape")
            out[k] = REDACTED if k.lower() in self.headers else self.scrub(raw).decode("utf-8", "replace")
        return out

    def json_value(self, value: Any) -> tuple[Any, bool]:
        """``value`` with the JSON paths redacted, and whether any matched."""
        changed = False
        for expr in self._jsonpaths() if self.paths else ():
            if expr.find(value):
                expr.update(value, REDACTED)
                changed = True
        return value, changed

    def frame(self, raw: bytes) -> bytes:
        raw = self.scrub(raw)
        if not self.paths:
            return raw
        lines = raw.split(b"\n")
        for i, line in enumerate(lines):
            if not line.startswith(b"data:"):
                continue
            text = line[5:].lstrip(b" ").rstrip(b"\r")
            try:
                value = json.loads(text)
            except ValueError:
                continue
            value, changed = self.json_value(value)
            if changed:
                lines[i] = b"data: " + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return b"\n".join(lines)

    def body(self, data: bytes) -> bytes:
        data = self.scrub(data)
        if not self.paths:
            return data
        try:
            value = json.loads(data)
        except ValueError:
            return data
        value, changed = self.json_value(value)
        if not changed:
            return data
        indent = 2 if b"\n" in data.strip() else None
        separators = None if indent else (",", ":")
        return (json.dumps(value, indent=indent, separators=separators, ensure_ascii=False) + "\n").encode()


def _number(text: str | None) -> float | int | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    if value is None or value < 0 or value != value:
        return None
    return int(value) if value.is_integer() else value


def _openai_error(ex: Exchange, body: bytes) -> dict[str, Any] | None:
    if ex.status < 400 or not headers_content_type(ex.headers).startswith("application/json"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("message"), str) or not err["message"].strip():
        return None
    return err


def error_step(ex: Exchange, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
    """An error answer as the fault a user would write: ``http_error`` (OpenAI's error body) or
    ``html_error`` (a proxy's page)."""
    if ex.ending != "complete" or ex.stream is not None or ex.status < 400:
        return None
    err = _openai_error(ex, body)
    if err is not None:
        step: dict[str, Any] = {"fault": "http_error", "status": ex.status, "message": err["message"]}
        for key in ("type", "code"):
            if isinstance(err.get(key), str) and err[key].strip():
                step[key] = err[key]
        rest = {k: v for k, v in headers.items() if k != "content-type"}
        for header, key in (("retry-after", "retry_after"), ("retry-after-ms", "retry_after_ms")):
            value = _number(rest.get(header))
            if value is not None:
                step[key] = value
                del rest[header]
        if rest.get("x-should-retry") in ("true", "false"):
            step["should_retry"] = rest.pop("x-should-retry") == "true"
        if rest:
            step["headers"] = rest
        return step
    if headers_content_type(ex.headers).startswith("text/html"):
        try:
            page = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if page.strip():
            return {"fault": "html_error", "status": ex.status, "body": page}
    return None


class _Frame(dict):
    """A frame: one line of the file (a flow mapping, its raw text double-quoted)."""


def _frame_dict(frame: ReplayFrame) -> dict[str, Any]:
    try:
        return _Frame(delay_ms=frame.delay_ms, raw=frame.raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _Frame(delay_ms=frame.delay_ms, raw_base64=base64.b64encode(frame.raw).decode())


class SideFiles:
    """Side files of one scenario: ``<stem>.<n>.frames.jsonl`` and ``<stem>.<n>.body``."""

    def __init__(self, folder: Path, stem: str, inline: bool) -> None:
        self.folder, self.stem, self.inline = folder, stem, inline
        self.written: dict[str, bytes] = {}

    def frames(self, n: int, frames: list[dict[str, Any]]) -> dict[str, Any]:
        text = "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in frames).encode()
        if self.inline and len(text) <= SIDE_FILE_BYTES:
            return {"events": frames}
        name = f"{self.stem}.{n}.frames.jsonl"
        self.written[name] = text
        return {"events_file": name}

    def body(self, n: int, body: bytes) -> dict[str, Any]:
        if self.inline and len(body) <= SIDE_FILE_BYTES:
            try:
                return {"body": body.decode("utf-8")}
            except UnicodeDecodeError:
                pass
        name = f"{self.stem}.{n}.body"
        self.written[name] = body
        return {"body_file": name}


def replay_step(
    ex: Exchange, n: int, headers: dict[str, str], redactor: Redactor, side: SideFiles
) -> dict[str, Any]:
    replay: dict[str, Any] = {"status": ex.status}
    if headers:
        replay["headers"] = headers
    if ex.stream is not None:
        replay["delay_ms"] = ex.headers_ms
        frames = [_frame_dict(ReplayFrame(redactor.frame(f.raw), f.delay_ms)) for f in ex.stream.frames]
        replay.update(side.frames(n, frames))
    else:
        replay["delay_ms"] = ex.body_ms
        replay.update(side.body(n, redactor.body(bytes(ex.body))))
    if ex.ending != "complete":
        replay["ending"] = ex.ending
    return {"response": {"replay": replay}}


def step_of(ex: Exchange, n: int, redactor: Redactor, side: SideFiles) -> dict[str, Any]:
    headers = redactor.header_values(ex.headers)
    error = error_step(ex, headers, redactor.body(bytes(ex.body)))
    return error if error is not None else replay_step(ex, n, headers, redactor, side)


def _match(exchanges: list[Exchange]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    endpoints = list(dict.fromkeys(ex.facts.endpoint for ex in exchanges))
    if None not in endpoints:
        out["endpoint"] = endpoints[0] if len(endpoints) == 1 else endpoints
    streams = {ex.facts.stream for ex in exchanges}
    if len(streams) == 1:
        out["stream"] = streams.pop()
    models = list(dict.fromkeys(ex.facts.model for ex in exchanges))
    if None not in models:
        out["model"] = models[0] if len(models) == 1 else models
    return out


def _summary(ex: Exchange) -> str:
    what = (
        f"{ex.facts.endpoint or ex.method + ' ' + ex.path}{' stream' if ex.facts.stream else ''} {ex.status}"
    )
    if ex.stream is not None:
        what += f" ({len(ex.stream.frames)} frames"
        what += (
            f", the upstream cut it after frame {len(ex.stream.frames)})" if ex.ending != "complete" else ")"
        )
    elif ex.ending != "complete":
        what += f" (the upstream cut it: {ex.ending})"
    return what


def document(exchanges: list[Exchange], upstream: str, redactor: Redactor, side: SideFiles) -> dict[str, Any]:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    doc: dict[str, Any] = {
        "description": f"Recorded from {upstream} at {when}: " + "; ".join(_summary(e) for e in exchanges),
    }
    match = _match(exchanges)
    if match:
        doc["match"] = match
    steps = [step_of(ex, n, redactor, side) for n, ex in enumerate(exchanges, start=1)]
    if len(steps) == 1 and "response" in steps[0]:
        doc["response"] = steps[0]["response"]
    elif len(steps) == 1:
        doc["then"] = steps[0]
    else:
        doc["attempts"] = steps
        doc["then"] = steps[-1]  # later attempts get the last answer again (one copy: a YAML alias)
    return doc


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # a body of several lines reads as itself (a literal block keeps every byte); inside a flow
    # mapping (a frame) the emitter falls back to a double-quoted string with its \n escapes
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _frame(dumper: yaml.SafeDumper, value: _Frame) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_Frame, _frame)


def dump(doc: dict[str, Any]) -> str:
    return yaml.dump(
        doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30, default_flow_style=None
    )


def write(folder: Path, stem: str, exchanges: list[Exchange], upstream: str, redactor: Redactor) -> Path:
    """Write (or rewrite) the scenario of one session; returns its path. The text is parsed back
    by the scenario schema before it is kept, so a recording is always a valid scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.yaml"
    side = SideFiles(folder, stem, inline=True)
    text = dump(document(exchanges, upstream, redactor, side))
    if len(text.encode()) > MAX_INLINE_TOTAL:
        side = SideFiles(folder, stem, inline=False)
        text = dump(document(exchanges, upstream, redactor, side))
    written = []
    tmp = path.with_suffix(".yaml.tmp")
    try:
        for name, data in side.written.items():
            (folder / name).write_bytes(data)
            written.append(folder / name)
        tmp.write_text(text, encoding="utf-8")
        parse_text(text, str(path))  # a recording is a valid scenario, or it is not kept
    except BaseException:
        for leftover in (*written, tmp):
            leftover.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path
