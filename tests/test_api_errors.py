"""The mock answers bad requests the way OpenAI does: typed SDK errors, bodies naming `param`."""

from __future__ import annotations

import httpx2
import openai
import pytest

MSG = [{"role": "user", "content": "hi"}]


def test_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="gpt-9-imaginary", messages=MSG)
    assert exc.value.code == "model_not_found"
    assert "gpt-9-imaginary" in exc.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9-imaginary")


def test_missing_key_is_401_with_no_code(mock_openai_server):
    r = httpx2.get(mock_openai_server.base_url + "/models")
    assert r.status_code == 401
    assert r.json()["error"]["code"] is None  # invalid_api_key is for a key present and wrong
    assert r.headers["x-request-id"].startswith("req_")


def test_restricted_keys_reject_others_with_authentication_error(mock_openai_server_factory):
    m = mock_openai_server_factory(api_keys=["sk-good"])
    bad = openai.OpenAI(base_url=m.base_url, api_key="sk-wrong-key-123", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.models.list()
    assert exc.value.code == "invalid_api_key"
    good = openai.OpenAI(base_url=m.base_url, api_key="sk-good", max_retries=0)
    assert good.models.list().data


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MSG}, "model"),
        ({"model": "gpt-4o"}, "messages"),
        ({"model": "gpt-4o", "messages": "hi"}, "messages"),
        ({"model": "gpt-4o", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "gpt-4o", "messages": MSG, "temperature": 3}, "temperature"),
        ({"model": "gpt-4o", "messages": MSG, "max_tokens": 0}, "max_tokens"),
        ({"model": "gpt-4o", "messages": MSG, "stream": "yes"}, "stream"),
        ({"model": "gpt-4o", "messages": MSG, "stream_options": {"include_usage": True}}, "stream_options"),
        ({"model": "gpt-4o", "messages": MSG, "tool_choice": "required"}, "tool_choice"),
    ],
)
def test_bad_field_is_400_naming_param(client, body, param):
    with pytest.raises(openai.BadRequestError) as exc:
        client.post("/chat/completions", body=body, cast_to=object)
    err = exc.value.body
    assert err["param"] == param
    assert err["type"] == "invalid_request_error" and err["message"]


def test_malformed_json_is_400(mock_openai_server):
    r = httpx2.post(
        mock_openai_server.base_url + "/chat/completions",
        content=b'{"model": ',
        headers={"Authorization": "Bearer sk-test", "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert "could not parse the JSON body" in r.json()["error"]["message"]


def test_unknown_route_is_openai_shaped_404(mock_openai_server):
    r = httpx2.get(mock_openai_server.base_url + "/nothing-here", headers={"Authorization": "Bearer sk-test"})
    assert r.status_code == 404 and r.json()["error"]["message"].startswith("Invalid URL")


def test_models_list_and_retrieve_validate(client):
    from openai.types import Model

    models = client.models.list()
    ids = [m.id for m in models.data]
    assert "gpt-4o-mini" in ids
    m = client.models.retrieve("gpt-4o-mini")
    Model.model_validate(m.model_dump())
    assert m.id == "gpt-4o-mini"


def test_model_list_is_configurable(mock_openai_server_factory):
    m = mock_openai_server_factory(models=["my-local-llama"])
    c = openai.OpenAI(base_url=m.base_url, api_key="k", max_retries=0)
    assert [x.id for x in c.models.list().data] == ["my-local-llama"]
    assert c.chat.completions.create(model="my-local-llama", messages=MSG).choices
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="gpt-4o", messages=MSG)
