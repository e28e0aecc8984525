"""``POST /v1/embeddings`` through the real SDK: float and base64, dimensions, batches,
determinism, OpenAI's 400s, and a scenario's faults applying to it like any JSON endpoint."""

from __future__ import annotations

import base64
import json
import math
import struct

import httpx2
import openai
import pytest
from openai.types import CreateEmbeddingResponse
from scenario_files import scenario_folder

from harness.pytest_plugin import MockOpenAI

SMALL = "text-embedding-3-small"


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_float_response_validates_and_vectors_are_unit_length(client):
    raw = client.embeddings.with_raw_response.create(
        model=SMALL, input="hello world", encoding_format="float"
    )
    body = json.loads(raw.http_response.text)
    assert isinstance(body["data"][0]["embedding"], list)  # numbers on the wire, as asked
    reply = CreateEmbeddingResponse.model_validate(body)
    assert reply.object == "list" and reply.model == SMALL
    (item,) = reply.data
    assert item.object == "embedding" and item.index == 0
    assert len(item.embedding) == 1536
    assert _norm(item.embedding) == pytest.approx(1.0, abs=1e-5)
    assert reply.usage.prompt_tokens == reply.usage.total_tokens == 2
    assert raw.headers.get("x-request-id")


def test_the_sdk_default_asks_for_base64_and_decodes_it_to_the_same_floats(client):
    floats = client.embeddings.create(model=SMALL, input="same text", encoding_format="float")
    default = client.embeddings.create(model=SMALL, input="same text")  # the SDK sends base64
    assert default.data[0].embedding == floats.data[0].embedding
    raw = client.embeddings.with_raw_response.create(model=SMALL, input="same text", encoding_format="base64")
    b64 = json.loads(raw.http_response.text)["data"][0]["embedding"]
    decoded = list(struct.unpack("<1536f", base64.b64decode(b64)))
    assert decoded == floats.data[0].embedding


@pytest.mark.parametrize(
    "model,dims", [(SMALL, 1536), ("text-embedding-3-large", 3072), ("text-embedding-ada-002", 1536)]
)
def test_each_model_has_its_native_size(client, model, dims):
    reply = client.embeddings.create(model=model, input="x")
    assert len(reply.data[0].embedding) == dims and reply.model == model


def test_dimensions_shortens_the_full_vector_and_renormalises(client):
    full = client.embeddings.create(model="text-embedding-3-large", input="cut me").data[0].embedding
    short = (
        client.embeddings.create(model="text-embedding-3-large", input="cut me", dimensions=256)
        .data[0]
        .embedding
    )
    assert len(short) == 256 and _norm(short) == pytest.approx(1.0, abs=1e-5)
    scale = _norm(full[:256])
    assert [round(x, 5) for x in short] == [round(x / scale, 5) for x in full[:256]]


def test_batch_of_strings_and_token_ids(client):
    texts = ["alpha", "beta gamma", "alpha"]
    reply = client.embeddings.create(model=SMALL, input=texts)
    assert [d.index for d in reply.data] == [0, 1, 2]
    assert reply.data[0].embedding == reply.data[2].embedding != reply.data[1].embedding
    assert reply.usage.prompt_tokens == 1 + 2 + 1
    one = client.embeddings.create(model=SMALL, input=[1212, 318, 257])
    assert len(one.data) == 1 and one.usage.prompt_tokens == 3
    many = client.embeddings.create(model=SMALL, input=[[1, 2], [3, 4, 5]])
    assert len(many.data) == 2 and many.usage.total_tokens == 5


def test_vectors_are_deterministic_from_model_and_input(client, mock_openai_server_factory):
    a = client.embeddings.create(model=SMALL, input="stable").data[0].embedding
    b = client.embeddings.create(model=SMALL, input="stable").data[0].embedding
    c = client.embeddings.create(model=SMALL, input="other").data[0].embedding
    d = client.embeddings.create(model="text-embedding-ada-002", input="stable").data[0].embedding
    assert a == b and a != c and a != d
    other = mock_openai_server_factory(seed=7)
    e = openai.OpenAI(base_url=other.base_url, api_key="sk-test").embeddings.create(
        model=SMALL, input="stable"
    )
    assert e.data[0].embedding != a


@pytest.mark.parametrize(
    "kwargs,param",
    [
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, "dimensions"),
        ({"model": SMALL, "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": SMALL, "input": "x", "dimensions": 1537}, "dimensions"),
        ({"model": SMALL, "input": ""}, "input"),
        ({"model": SMALL, "input": []}, "input"),
        ({"model": SMALL, "input": ["ok", 3]}, "input"),
        ({"model": SMALL, "input": {"text": "x"}}, "input"),
        ({"model": SMALL, "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": SMALL, "input": "x", "user": 5}, "user"),
        ({"model": "gpt-4o-mini", "input": "x"}, "model"),
    ],
)
def test_bad_fields_are_400s_naming_the_param(client, kwargs, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(**kwargs)
    assert info.value.status_code == 400
    assert info.value.body["param"] == param
    assert info.value.body["type"] == "invalid_request_error"


def test_missing_input_and_unknown_model(client, mock_openai_server):
    r = httpx2.post(
        mock_openai_server.base_url + "/embeddings",
        json={"model": SMALL},
        headers={"Authorization": "Bearer sk-test"},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    with pytest.raises(openai.NotFoundError) as info:
        client.embeddings.create(model="text-embedding-9", input="x")
    assert info.value.body["code"] == "model_not_found"


def test_models_list_has_the_embedding_models(client):
    ids = {m.id for m in client.models.list()}
    assert {SMALL, "text-embedding-3-large", "text-embedding-ada-002"} <= ids


SCENARIO = """\
description: The first embeddings call is rate limited with Retry-After; the retry succeeds.
match: {endpoint: embeddings}
attempts:
  - {fault: http_error, status: 429, retry_after_ms: 50}
then: ok
"""


def test_a_scenario_429_is_retried_by_the_sdk_then_succeeds(tmp_path_factory, mock_openai_server_factory):
    server = mock_openai_server_factory(
        scenario_paths=[scenario_folder(tmp_path_factory, {"embed-429": SCENARIO})]
    )
    strict, patient = MockOpenAI(server, "embed-strict"), MockOpenAI(server, "embed-patient")
    with pytest.raises(openai.RateLimitError):
        strict.client("embed-429", max_retries=0).embeddings.create(model=SMALL, input="x")
    reply = patient.client("embed-429", max_retries=2).embeddings.create(model=SMALL, input="x")
    assert len(reply.data[0].embedding) == 1536
    entries = patient.journal()
    assert [(e["endpoint"], e["status"], e["retry_count"]) for e in entries] == [
        ("embeddings", 429, 0),
        ("embeddings", 200, 1),
    ]
