"""Build a value that fits a JSON schema: the arguments of a forced tool call, structured output.

Deterministic for a given random generator; covers what tool schemas use in practice
(objects, arrays, enums, const, anyOf/oneOf, local ``$ref`` into ``$defs``/``definitions``).
"""

from __future__ import annotations

import random
from typing import Any


def instance_for(schema: Any, rng: random.Random, root: Any = None, depth: int = 0) -> Any:
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 12:
        return None
    if "$ref" in schema:
        return instance_for(_resolve(schema["$ref"], root), rng, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if not (isinstance(s, dict) and s.get("type") == "null")]
            return instance_for((options or schema[key])[0], rng, root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = _resolve(part["$ref"], root) if isinstance(part, dict) and "$ref" in part else part
            for k, v in (part or {}).items():
                if k == "properties":
                    merged.setdefault("properties", {}).update(v)
                elif k == "required":
                    merged.setdefault("required", []).extend(v)
                else:
                    merged[k] = v
        return instance_for(merged, rng, root, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    if typ == "object":
        props = schema.get("properties") or {}
        return {name: instance_for(sub, rng, root, depth + 1) for name, sub in props.items()}
    if typ == "array":
        n = max(1, int(schema.get("minItems", 1)))
        return [instance_for(schema.get("items") or {}, rng, root, depth + 1) for _ in range(n)]
    if typ == "integer":
        lo = int(schema.get("minimum", 1))
        hi = int(schema.get("maximum", lo + 99))
        return rng.randint(lo, max(lo, hi))
    if typ == "number":
        lo = float(schema.get("minimum", 0))
        hi = float(schema.get("maximum", lo + 100))
        return round(rng.uniform(lo, max(lo, hi)), 2)
    if typ == "boolean":
        return rng.random() < 0.5
    if typ == "null":
        return None
    return _string(schema, rng)


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2025-01-01T12:00:00Z"
    if fmt == "date":
        return "2025-01-01"
    if fmt == "email":
        return "user@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    if fmt == "uuid":
        return "123e4567-e89b-12d3-a456-426614174000"
    word = rng.choice(["Paris", "alpha", "sample", "Tokyo", "value", "blue"])
    n = int(schema.get("minLength", 0))
    return word if len(word) >= n else word + "x" * (n - len(word))


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#/"):
        return {}
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node
