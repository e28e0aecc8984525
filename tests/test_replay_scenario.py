"""The ``replay`` response kind: a recorded answer played byte for byte through the mock's
delivery, with its recorded timing, and the usual faults on top of it; its problems reported with
file, line and field like every other field (side files included)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import openai
import pytest

from mockserver.scenario.cli_commands import validate
from mockserver.scenario.schema import ScenarioError, parse_file

FRAMES = [
    (5.0, 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'),
    (20.0, ": keep-alive\n\n"),
    (10.0, 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'),
    (15.0, 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n'),
    (10.0, 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'),
    (0.0, "data: [DONE]\n\n"),
]  # fmt: skip
RAW = "".join(raw for _, raw in FRAMES).encode()


def frames_yaml(indent: str) -> str:
    return "".join(f"{indent}- {{delay_ms: {d}, raw: {json.dumps(raw)}}}\n" for d, raw in FRAMES)


def write_scenarios(root: Path) -> Path:
    (root / "replayed-chat.yaml").write_text(
        "description: a recorded chat stream, played back\n"
        "match: {endpoint: chat.completions, stream: true}\n"
        "response:\n  replay:\n    status: 200\n"
        "    headers: {x-request-id: req_recorded1, openai-processing-ms: '7'}\n"
        "    events:\n" + frames_yaml("      ")
    )
    (root / "replayed-chat-dropped.yaml").write_text(
        "description: the recording, cut by a drop fault after its 3rd frame\n"
        "match: {endpoint: chat.completions, stream: true}\n"
        "faults: [{fault: drop, after_events: 3}]\n"
        "response:\n  replay:\n    events:\n" + frames_yaml("      ")
    )
    (root / "replayed-429-then-body.yaml").write_text(
        "description: a 429 then the recorded JSON body\n"
        "match: {endpoint: chat.completions, stream: false}\n"
        "attempts:\n"
        "  - {fault: http_error, status: 429, retry_after_ms: 10, headers: {x-request-id: req_first}}\n"
        "then:\n  response:\n    replay:\n      headers: {content-type: application/json}\n"
        "      body_file: replayed-429-then-body.body\n"
    )
    body = (
        '{\n  "id": "chatcmpl-9",\n  "object": "chat.completion",\n  "created": 1,\n  "model": "my-llama",\n'
    )
    body += '  "choices": [{"index": 0, "message": {"role": "assistant", "content": "from the side file"},'
    body += ' "finish_reason": "stop"}]\n}\n'
    (root / "replayed-429-then-body.body").write_text(body)
    lines = [json.dumps({"delay_ms": d, "raw": raw}) for d, raw in FRAMES]
    (root / "replayed-side.frames.jsonl").write_text("\n".join(lines) + "\n")
    (root / "replayed-side.yaml").write_text(
        "description: frames in a side file, the connection cut after them\n"
        "response:\n  replay:\n    events_file: replayed-side.frames.jsonl\n    ending: dropped\n"
    )
    return root


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> Path:
    return write_scenarios(tmp_path_factory.mktemp("replays"))


@pytest.fixture(scope="module")
def mock_openai_server(replays, mock_openai_server_factory):
    return mock_openai_server_factory(scenario_paths=[str(replays)], time_scale=1.0)


def stream_bytes(c: openai.OpenAI, model: str = "my-llama") -> tuple[bytes, dict]:
    with c.chat.completions.with_streaming_response.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as resp:
        return b"".join(resp.iter_bytes()), dict(resp.headers)


def test_a_replay_plays_every_frame_byte_for_byte_with_its_delay(mock_openai):
    misses = []
    for _ in range(3):  # deterministic, unlike the load of a shared machine: best of 3
        mock_openai.reset()
        data, headers = stream_bytes(mock_openai.client("replayed-chat", max_retries=0))
        [entry] = mock_openai.journal()
        assert data == RAW
        assert headers["x-request-id"] == "req_recorded1" and headers["openai-processing-ms"] == "7"
        assert entry["model"] == "my-llama" and entry["status"] == 200 and entry["ended"] == "complete"
        gaps = [b - a for a, b in zip(entry["emit_ms"], entry["emit_ms"][1:], strict=False)]
        misses = [(g, w) for g, (w, _) in zip(gaps, FRAMES[1:], strict=True) if abs(g - w) >= 5]
        if not misses:
            break
    assert misses == []
    types = entry["event_types"]
    assert types == ["chat.completion.chunk", "comment", *["chat.completion.chunk"] * 3, "done"]


def test_the_sdk_reads_a_replay_as_its_own_stream(mock_openai):
    c = mock_openai.client("replayed-chat", max_retries=0)
    stream = c.chat.completions.create(
        model="my-llama", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hello"


def test_a_fault_applies_on_top_of_a_replay(mock_openai):
    with pytest.raises(openai.APIError):
        list(
            mock_openai.client("replayed-chat-dropped", max_retries=0).chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    [entry] = mock_openai.journal()
    assert entry["ended"] == "dropped" and entry["faults"] == ["drop"]
    assert entry["events_sent"] == 3


def test_a_recorded_ending_is_played_and_frames_come_from_the_side_file(mock_openai):
    got = []
    c = mock_openai.client("replayed-side", max_retries=0)
    with (
        pytest.raises(httpx2.RemoteProtocolError),  # the connection goes without the chunked end
        c.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as resp,
    ):
        got.extend(resp.iter_bytes())
    assert b"".join(got) == RAW
    assert mock_openai.journal()[0]["ended"] == "dropped"


def test_steps_replay_in_order_a_429_then_the_recorded_body_byte_for_byte(mock_openai, replays):
    c = mock_openai.client("replayed-429-then-body", max_retries=1)
    raw = c.chat.completions.with_raw_response.create(
        model="my-llama", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.http_request.headers["x-stainless-retry-count"] == "1"
    assert raw.content == (replays / "replayed-429-then-body.body").read_bytes()
    assert raw.parse().choices[0].message.content == "from the side file"
    assert [e["status"] for e in mock_openai.journal()] == [429, 200]


def test_replay_problems_name_file_line_and_field(tmp_path):
    (tmp_path / "side.frames.jsonl").write_text(
        '{"delay_ms": 1, "raw": "data: 1\\n\\n"}\n{"delay_ms": -2, "raw": "x"}\n'
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "description: broken replays\n"
        "attempts:\n"
        "  - response:\n      replay: {events_file: side.frames.jsonl, status: 99}\n"
        "  - response:\n      replay:\n        body_file: ../../etc/passwd\n"
        "  - response:\n      replay:\n        events:\n          - {delay_ms: 1, raw: x, colour: red}\n"
        "        ending: droped\n"
    )
    with pytest.raises(ScenarioError) as err:
        parse_file(bad)
    problems = err.value.problems
    assert (
        f"{bad}:4: attempts[0].response.replay.status: expected an integer between 200 and 599, got 99"
        in problems
    )
    assert any(
        p.startswith(f"{bad}:7: attempts[1].response.replay.body_file: '../../etc/passwd' is outside")
        for p in problems
    )
    assert any(
        p.startswith(f"{bad}:11: attempts[2].response.replay.events[0]: unknown field 'colour'")
        for p in problems
    )
    assert any(
        p.startswith(f"{bad}:12: attempts[2].response.replay.ending: expected one of complete")
        for p in problems
    )
    assert (
        f"{tmp_path}/side.frames.jsonl:2: attempts[0].response.replay.events_file[1]: delay_ms: expected a number between 0 and 3600000, got -2"
        in problems
    )
    assert validate([str(bad)]) == 1


def test_the_published_json_schema_accepts_a_replay_and_refuses_a_broken_one(replays):
    import jsonschema
    import yaml

    from mockserver.scenario.json_schema import scenario_schema

    validator = jsonschema.Draft202012Validator(scenario_schema())
    for path in sorted(replays.glob("*.yaml")):
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    both = {"description": "x", "response": {"replay": {"body": "a", "events": []}}}
    bad_frame = {"description": "x", "response": {"replay": {"events": [{"delay_ms": -1, "raw": "x"}]}}}
    assert list(validator.iter_errors(both)) and list(validator.iter_errors(bad_frame))


def test_hostile_side_file_names_and_headers_are_located_problems_not_tracebacks(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "latin1.frames.jsonl").write_bytes(b'{"delay_ms": 1, "raw": "data: \xff\\n\\n"}\n')
    cases = {
        "nul": ('events_file: "nul\\0x"', "events_file: not a usable file name: embedded null byte"),
        "long": ("events_file: " + "a" * 5000, "events_file: not a usable file name: File name too long"),
        "dir": ("events_file: folder", "events_file: not a regular file:"),
        "latin1": ("events_file: latin1.frames.jsonl", "events_file: not JSON: not UTF-8 text"),
        "crlf": (
            'headers: {x-a: "b\\r\\nset-cookie: evil"}',
            "headers: header 'x-a': a value cannot hold a line break",
        ),
        "name": ('headers: {"bad name": x}', "headers: 'bad name' is not a header name"),
        "forever": ("delay_ms: .inf", "delay_ms: expected a number between 0 and 3600000, got inf"),
        "early": ("status: 101", "status: expected an integer between 200 and 599, got 101"),
    }
    for stem, (field_text, _) in cases.items():
        body = "" if "events_file" in field_text else ", body: x"
        status = "" if "status" in field_text else "status: 200, "
        (tmp_path / f"{stem}.yaml").write_text(
            f"description: d\nresponse:\n  replay: {{{status}{field_text}{body}}}\n", encoding="utf-8"
        )
    for stem, (_, message) in cases.items():
        with pytest.raises(ScenarioError) as exc:
            parse_file(tmp_path / f"{stem}.yaml")
        assert message in str(exc.value), (stem, str(exc.value))
        assert "Traceback" not in str(exc.value)
