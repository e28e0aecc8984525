"""The connector registry (seed 000, "No connector available for service: ...")."""

from __future__ import annotations

import json

import openai
import pytest

from harness.connectors import (
    ConnectorNotFoundError,
    ConnectorRegistry,
    OpenAIImg2ImgConnector,
    OpenAITxt2ImgConnector,
    ServiceMappingError,
)
from harness.connectors.registry import DEFAULT_MAPPING


def write(tmp_path, doc) -> str:
    path = tmp_path / "service-mapping.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def mapping(*services: tuple[str, str]) -> dict:
    return {
        "workers": {
            "openai": {
                "service": [{"capability": c, "connector": k, "type": "external"} for c, k in services]
            }
        }
    }


def test_the_shipped_mapping_maps_both_image_services():
    registry = ConnectorRegistry.from_file(DEFAULT_MAPPING)
    assert registry.services() == ["openai_img2img", "openai_txt2img"]
    assert registry.connector_class("openai_img2img") is OpenAIImg2ImgConnector
    assert registry.connector_class("openai_txt2img") is OpenAITxt2ImgConnector


def test_create_builds_the_connector_with_the_given_client():
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    connector = ConnectorRegistry.from_file().create("openai_img2img", client=client)
    assert isinstance(connector, OpenAIImg2ImgConnector) and connector.client is client


def test_unknown_service_names_itself_and_lists_the_known_ones(tmp_path):
    registry = ConnectorRegistry.from_file(
        write(tmp_path, mapping(("openai_txt2img", "OpenAITxt2ImgConnector"))),
        classes={"OpenAITxt2ImgConnector": OpenAITxt2ImgConnector},
    )
    with pytest.raises(ConnectorNotFoundError) as err:
        registry.create("openai_img2img")
    assert str(err.value) == (
        "No connector available for service: openai_img2img (known services: openai_txt2img)"
    )
    assert err.value.known == ["openai_txt2img"]


def test_a_service_missing_from_the_mapping_falls_back_to_the_connectors_own_service(tmp_path):
    registry = ConnectorRegistry.from_file(
        write(tmp_path, mapping(("openai_txt2img", "OpenAITxt2ImgConnector")))
    )
    assert registry.connector_class("openai_img2img") is OpenAIImg2ImgConnector


def test_a_mapping_naming_a_class_that_is_not_exported_fails_at_load(tmp_path):
    with pytest.raises(
        ServiceMappingError,
        match="names connector 'OpenAIImg2ImgConector'.*known: "
        "OpenAIImg2ImgConnector, OpenAITxt2ImgConnector",
    ):
        ConnectorRegistry.from_file(write(tmp_path, mapping(("openai_img2img", "OpenAIImg2ImgConector"))))


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ("{not json", "line 1: invalid JSON"),
        ({"worker": {}}, "expected an object with a 'workers' object"),
        (
            {"workers": {"openai": {"services": []}}},
            "workers.openai: expected an object with a 'service' list",
        ),
        ({"workers": {"openai": {"service": [{"capability": "x"}]}}}, "workers.openai.service[0].connector"),
        ({"workers": {"openai": {"service": ["x"]}}}, "service[0]: expected an object, got str"),
    ],
)
def test_malformed_mapping_files_say_where(tmp_path, doc, why):
    with pytest.raises(ServiceMappingError) as err:
        ConnectorRegistry.from_file(write(tmp_path, doc))
    assert why in str(err.value)


def test_a_missing_mapping_file_is_a_clear_error(tmp_path):
    with pytest.raises(ServiceMappingError, match="service-mapping file not found"):
        ConnectorRegistry.from_file(tmp_path / "nope.json")
