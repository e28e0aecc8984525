"""``stack.drive: registry``: look a service up in the connector registry (seed 000).

``stack.input``: ``service``; ``mapping`` (a service-mapping document inline; default the one the
package ships); ``classes`` (the connector classes that are exported, by name; default all of
them). Facts under ``registry``: outcome (ok|error), connector (the class found), error, known.
"""

from __future__ import annotations

from harness.connectors.registry import (
    ConnectorNotFoundError,
    ConnectorRegistry,
    ServiceMappingError,
    default_connector_classes,
    load_service_mapping,
    parse_service_mapping,
)

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError


async def run(ctx: RunContext) -> StackRun:
    inp = ctx.input
    service = inp.get("service")
    if not isinstance(service, str) or not service:
        raise ScenarioFileError(f"{ctx.scenario.path}: stack.input.service: expected the service to look up")
    try:
        entries = (
            parse_service_mapping(inp["mapping"], f"{ctx.scenario.path}: stack.input.mapping")
            if "mapping" in inp
            else load_service_mapping()
        )
    except ServiceMappingError as exc:
        raise ScenarioFileError(str(exc)) from None
    classes = default_connector_classes()
    if "classes" in inp:
        missing = sorted(set(inp["classes"]) - set(classes))
        if missing:
            raise ScenarioFileError(
                f"{ctx.scenario.path}: stack.input.classes: unknown connector class(es) "
                f"{', '.join(missing)}; known: {', '.join(sorted(classes))}"
            )
        classes = {name: cls for name, cls in classes.items() if name in inp["classes"]}
    lines = [f"registry: exported classes {', '.join(sorted(classes)) or 'none'}; looking up {service!r}"]
    facts: dict[str, object] = {}
    try:
        registry = ConnectorRegistry(entries, classes)
        facts["known"] = registry.services()
        found = registry.connector_class(service)
    except (ConnectorNotFoundError, ServiceMappingError) as exc:
        facts.update(outcome="error", error=str(exc))
        lines.append(f"error: {exc}")
    else:
        facts.update(outcome="ok", connector=found.__name__)
        lines.append(f"found {found.__name__}")
    return StackRun({"registry": facts}, lines)
