"""pytest plugin for the mock OpenAI server (registered through the ``pytest11`` entry point).

Installing the package is enough for a project's tests to get these fixtures:

``mock_openai_server`` (session scope)
    The mock, started in-process on a free 127.0.0.1 port with the built-in scenario catalogue
    (shipped inside the package, found by name) and the project's own scenario files on top:
    ``--mock-scenarios PATH`` / the ``mock_scenarios`` ini option, else ``./scenarios`` when it
    exists (beside the rootdir's ini file, and in the folder pytest was started from). A project's scenario replaces a built-in one of the same name; a path that was asked
    for and does not exist stops the session at its start.
``mock_openai`` (function scope)
    A handle bound to a fresh ``X-Mock-Session``, so attempt counters and the journal are this
    test's own, even under pytest-xdist::

        def test_retry_after(mock_openai):
            client = mock_openai.client(scenario="chat-429-retry-after-ms")
            client.chat.completions.create(model="gpt-4o-mini", messages=[...])
            assert [e["retry_count"] for e in mock_openai.journal()] == [0, 1]

``@pytest.mark.mock_scenario("name")`` selects the scenario a test's clients use by default.

``mock_openai_server_factory`` (module scope)
    Starts a mock with settings of the caller's own (any :class:`~mockserver.config.MockConfig`
    field: ``time_scale=0.05``, ``api_keys=[...]``, ``scenario_paths=[folder]`` in place of the
    catalogue), on a free port, stopped when the module's tests are done. A test module that
    needs such a mock overrides ``mock_openai_server`` and keeps the rest of the plugin::

        @pytest.fixture(scope="module")
        def mock_openai_server(mock_openai_server_factory):
            return mock_openai_server_factory(time_scale=0.05)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.config import MockConfig
from mockserver.scenario.loader import CATALOGUE
from mockserver.web_admin import reset_session
from mockserver.web_app import JOURNAL
from mockserver.web_runner import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockopenai", "mock OpenAI server")
    group.addoption(
        "--mock-scenarios",
        action="append",
        default=None,
        metavar="PATH",
        help="scenario file or folder for the mock_openai fixtures (repeatable)",
    )
    group.addoption(
        "--mock-time-scale",
        type=float,
        default=None,
        metavar="F",
        help="multiply every scenario wait by F (default 1.0)",
    )
    group.addoption("--mock-seed", type=int, default=None, metavar="N", help="the mock's seed")
    parser.addini("mock_scenarios", "scenario files or folders for the mock", type="linelist", default=[])
    parser.addini("mock_time_scale", "time scale of the mock's waits", default="1.0")
    parser.addini("mock_seed", "the mock's seed", default="0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mock_scenario(name): the mock scenario this test's clients use")
    missing = [p for p in _project_scenarios(config) if not Path(p).exists()]
    if missing:
        raise pytest.UsageError(
            "mock_openai: scenario path(s) not found: "
            + ", ".join(missing)
            + " (from --mock-scenarios or the mock_scenarios ini option)"
        )


def _project_scenarios(config: pytest.Config) -> list[str]:
    """The project's own scenario files and folders (the catalogue's come first, see below)."""
    paths = config.getoption("--mock-scenarios") or []
    if not paths:
        root = Path(str(config.rootpath))
        paths = [str(root / p) for p in config.getini("mock_scenarios")]
    if not paths:  # ./scenarios: beside the rootdir's ini file, and where pytest was started
        found = dict.fromkeys(p.resolve() for p in _default_folders(config) if p.is_dir())
        paths = [str(p) for p in found]
    return paths


def _default_folders(config: pytest.Config) -> list[Path]:
    return [Path(str(config.rootpath)) / "scenarios", Path(str(config.invocation_params.dir)) / "scenarios"]


def _scenario_paths(config: pytest.Config) -> list[str]:
    return [str(CATALOGUE), *_project_scenarios(config)]


class MockOpenAI:
    """One test's view of the mock: its session, clients bound to it, its journal."""

    def __init__(self, server: MockServer, session: str, scenario: str | None = None) -> None:
        self.server = server
        self.session = session
        self.scenario = scenario

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def scenario_url(self, name: str) -> str:
        """Base URL that selects ``name`` by path, for clients that can only set a base URL."""
        return f"{self.server.url}/s/{name}/v1"

    def headers(self, scenario: str | None = None) -> dict[str, str]:
        headers = {"X-Mock-Session": self.session}
        name = scenario or self.scenario
        if name:
            headers["X-Mock-Scenario"] = name
        return headers

    def _client_kwargs(self, scenario: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        extra = kwargs.pop("default_headers", None) or {}
        kwargs.setdefault("api_key", "sk-mock")
        kwargs.setdefault("base_url", self.base_url)
        kwargs["default_headers"] = {**self.headers(scenario), **extra}
        return kwargs

    def client(self, scenario: str | None = None, **kwargs: Any):
        """An ``openai.OpenAI`` bound to this test's session (and ``scenario``, if given)."""
        import openai

        return openai.OpenAI(**self._client_kwargs(scenario, kwargs))

    def async_client(self, scenario: str | None = None, **kwargs: Any):
        """An ``openai.AsyncOpenAI`` bound to this test's session (and ``scenario``, if given)."""
        import openai

        return openai.AsyncOpenAI(**self._client_kwargs(scenario, kwargs))

    def journal(self, settle_s: float = 0.0) -> list[dict[str, Any]]:
        """This session's journal entries, oldest first (same shape as ``GET /_mock/journal``),
        read on the server's loop, so no entry is caught halfway through an update. With
        ``settle_s``, first wait up to that long for every entry to have ended (a stream the
        client left may still be finishing on the server)."""
        deadline = time.monotonic() + settle_s
        while True:
            entries = self.server.call(_journal_of, self.server.app, self.session)
            if all(e.get("ended") for e in entries) or time.monotonic() >= deadline:
                return entries
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget this session's journal and attempt counters."""
        self.server.call(reset_session, self.server.app, self.session)


def _journal_of(app: Any, session: str) -> list[dict[str, Any]]:
    return [e.to_dict() for e in app[JOURNAL].entries(session)]


def _config(pytestconfig: pytest.Config, **overrides: Any) -> MockConfig:
    """The plugin's settings (options and ini), then the caller's ``overrides``."""
    scale = pytestconfig.getoption("--mock-time-scale") or float(pytestconfig.getini("mock_time_scale"))
    seed = pytestconfig.getoption("--mock-seed")
    seed = int(pytestconfig.getini("mock_seed")) if seed is None else seed
    settings: dict[str, Any] = {
        "port": 0,
        "scenario_paths": _scenario_paths(pytestconfig),
        "time_scale": scale,
        "seed": seed,
    }
    return MockConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def mock_openai_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    with MockServer(_config(pytestconfig)) as server:
        yield server


@pytest.fixture(scope="module")
def mock_openai_server_factory(pytestconfig: pytest.Config) -> Iterator[Callable[..., MockServer]]:
    started: list[MockServer] = []

    def start(**overrides: Any) -> MockServer:
        server = MockServer(_config(pytestconfig, **overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mock_openai(mock_openai_server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockOpenAI]:
    marker = request.node.get_closest_marker("mock_scenario")
    scenario = marker.args[0] if marker and marker.args else None
    handle = MockOpenAI(mock_openai_server, session="pytest-" + uuid.uuid4().hex[:16], scenario=scenario)
    yield handle
    handle.reset()
