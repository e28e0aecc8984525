"""The connector registry: which connector class serves which service.

A service-mapping file (JSON) says, per worker, which capabilities it serves and with which
connector class::

    {"workers": {"openai": {"service": [
        {"capability": "openai_img2img", "connector": "OpenAIImg2ImgConnector", "type": "external"}
    ]}}}

Lookup order: the mapping file first, then a connector whose own ``SERVICE`` equals the service
name. An unknown service fails with ``No connector available for service: <name>`` and lists the
services there are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAPPING = Path(__file__).with_name("service-mapping.json")


class ConnectorNotFoundError(LookupError):
    """No connector serves the service asked for."""

    def __init__(self, service: str, known: Iterable[str]) -> None:
        self.service = service
        self.known = sorted(set(known))
        listed = ", ".join(self.known) or "none"
        super().__init__(f"No connector available for service: {service} (known services: {listed})")


class ServiceMappingError(ValueError):
    """The service-mapping file is malformed or names a connector that does not exist."""


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    capability: str
    connector: str
    type: str
    worker: str


def parse_service_mapping(doc: Any, source: str = "service mapping") -> list[ServiceEntry]:
    """Validate the mapping document's shape; errors say where and what was expected."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("workers"), Mapping):
        raise ServiceMappingError(f"{source}: expected an object with a 'workers' object")
    entries: list[ServiceEntry] = []
    for worker, spec in doc["workers"].items():
        where = f"{source}: workers.{worker}"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("service"), list):
            raise ServiceMappingError(f"{where}: expected an object with a 'service' list")
        for i, item in enumerate(spec["service"]):
            at = f"{where}.service[{i}]"
            if not isinstance(item, Mapping):
                raise ServiceMappingError(f"{at}: expected an object, got {type(item).__name__}")
            for key in ("capability", "connector"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise ServiceMappingError(f"{at}.{key}: expected a non-empty string")
            kind = item.get("type", "external")
            if not isinstance(kind, str):
                raise ServiceMappingError(f"{at}.type: expected a string")
            entries.append(ServiceEntry(item["capability"], item["connector"], kind, str(worker)))
    return entries


def load_service_mapping(path: str | Path = DEFAULT_MAPPING) -> list[ServiceEntry]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServiceMappingError(f"{path}: service-mapping file not found") from None
    except json.JSONDecodeError as exc:
        raise ServiceMappingError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    return parse_service_mapping(doc, str(path))


def default_connector_classes() -> dict[str, type]:
    """The connector classes the package ships, by class name (the names mapping files use)."""
    from .image_connectors import OpenAIImg2ImgConnector, OpenAITxt2ImgConnector

    return {cls.__name__: cls for cls in (OpenAITxt2ImgConnector, OpenAIImg2ImgConnector)}


class ConnectorRegistry:
    """Service name → connector class, from a mapping and the classes that exist."""

    def __init__(self, entries: Iterable[ServiceEntry], classes: Mapping[str, type] | None = None) -> None:
        self.classes = dict(classes if classes is not None else default_connector_classes())
        self.entries = {e.capability: e for e in entries}
        for entry in self.entries.values():
            if entry.connector not in self.classes:
                known = ", ".join(sorted(self.classes)) or "none"
                raise ServiceMappingError(
                    f"service '{entry.capability}' (worker '{entry.worker}') names connector "
                    f"'{entry.connector}', which is not a registered connector class (known: {known})"
                )

    @classmethod
    def from_file(
        cls, path: str | Path = DEFAULT_MAPPING, classes: Mapping[str, type] | None = None
    ) -> ConnectorRegistry:
        return cls(load_service_mapping(path), classes)

    def services(self) -> list[str]:
        """Every service this registry can serve: mapped capabilities and classes' own SERVICE."""
        direct = (getattr(c, "SERVICE", None) for c in self.classes.values())
        return sorted(set(self.entries) | {s for s in direct if s})

    def connector_class(self, service: str) -> type:
        entry = self.entries.get(service)
        if entry is not None:
            return self.classes[entry.connector]
        for connector in self.classes.values():
            if getattr(connector, "SERVICE", None) == service:
                return connector
        raise ConnectorNotFoundError(service, self.services())

    def create(self, service: str, **kwargs: Any) -> Any:
        """An instance of the connector for ``service``; ``kwargs`` go to its constructor."""
        return self.connector_class(service)(**kwargs)
