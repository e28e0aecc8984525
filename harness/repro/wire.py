"""What went over the wire, from the mock's journal: facts for ``expect.wire`` and report lines. Pure."""

from __future__ import annotations

from typing import Any


def wire_facts(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``expect.wire`` keys: requests, endpoints, statuses, endings, retry_counts, faults, events_sent."""
    return {
        "requests": len(entries),
        "endpoints": [e.get("endpoint") for e in entries],
        "statuses": [e.get("status") for e in entries],
        "endings": [e.get("ended") for e in entries],
        "retry_counts": [e.get("retry_count") or 0 for e in entries],
        "faults": sorted({f for e in entries for f in e.get("faults") or ()}),
        "events_sent": [e.get("events_sent", 0) for e in entries],
    }


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}ms"


def wire_lines(entries: list[dict[str, Any]]) -> list[str]:
    if not entries:
        return ["(no request reached the mock)"]
    lines = []
    for e in entries:
        head = (
            f"#{e.get('attempt') or '-'} {e.get('method')} {e.get('path')} "
            f"[{e.get('endpoint') or '?'}{' stream' if e.get('stream') else ''}]"
        )
        faults = ",".join(e.get("faults") or ()) or "none"
        lines.append(
            f"{head} → {e.get('status')} retry={e.get('retry_count') or 0} "
            f"events={e.get('events_sent', 0)} bytes={e.get('bytes_sent', 0)} faults={faults} "
            f"ended={e.get('ended')} first_byte={_ms(e.get('first_byte_ms'))} "
            f"first_content={_ms(e.get('first_content_ms'))} last_byte={_ms(e.get('last_byte_ms'))}"
        )
    return lines
