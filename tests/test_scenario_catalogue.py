"""The built-in catalogue ships inside the package and is found by name; a project's own
scenarios add to it and replace a built-in one by name."""

from __future__ import annotations

import pytest

from harness.cli import main as harness
from mockserver.scenario.loader import CATALOGUE, load_all


def test_the_catalogue_is_inside_the_package():
    assert CATALOGUE.is_dir() and CATALOGUE.parent.name == "mockserver"
    scenarios, problems = load_all([str(CATALOGUE)])
    assert problems == []
    assert {"chat-429-retry-after-ms", "chat-stream-drop", "no-partial-images"} <= set(scenarios)


def test_a_later_path_replaces_a_scenario_by_name(tmp_path):
    own = tmp_path / "scenarios"
    own.mkdir()
    (own / "chat-stream-drop.yaml").write_text("description: My own drop.\n")
    (own / "mine.yaml").write_text("description: Only mine.\n")
    scenarios, problems = load_all([str(CATALOGUE), str(own)])
    assert problems == []
    assert scenarios["chat-stream-drop"].description == "My own drop."
    assert scenarios["chat-stream-drop"].path == str(own / "chat-stream-drop.yaml")
    assert "mine" in scenarios and "chat-429-retry-after-ms" in scenarios


def test_within_one_path_a_name_is_still_defined_once(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.yaml").write_text("description: Same.\n")
    _, problems = load_all([str(tmp_path)])
    assert len(problems) == 1 and "scenario 'same' is already defined in" in problems[0]


def test_repro_suggests_the_name_that_was_meant(capsys):
    assert harness(["repro", "no-partial-image"]) == 2
    err = capsys.readouterr().err
    assert "no scenario named 'no-partial-image'" in err
    assert "did you mean 'no-partial-images'" in err


@pytest.mark.parametrize("name", ["chat-stream-drop", "gateway-overloaded-429"])
def test_repro_finds_built_in_names_from_any_folder(tmp_path, monkeypatch, name):
    from harness.repro.scenario_file import locate

    monkeypatch.chdir(tmp_path)  # no ./scenarios here: the package's catalogue answers
    assert locate(name).is_relative_to(CATALOGUE)


def test_serve_suggests_the_default_scenario_that_was_meant():
    from mockserver.scenario.loader import engine_from_paths
    from mockserver.scenario.schema import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        engine_from_paths([str(CATALOGUE)], default="chat-stream-drops")
    assert "--scenario chat-stream-drops: no such scenario; did you mean 'chat-stream-drop'?" in str(
        caught.value
    )


def test_an_unknown_scenario_header_suggests_the_name_that_was_meant(mock_openai):
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        mock_openai.client(scenario="chat-stream-drops", max_retries=0).models.list()
    assert caught.value.code == "unknown_scenario"
    assert "Did you mean 'chat-stream-drop'?" in caught.value.message
