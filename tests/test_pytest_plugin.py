"""The pytest plugin, used the way a user's project uses it: installed, no conftest needed."""

from __future__ import annotations

import pytest


def test_mock_openai_fixture_gives_a_session_bound_client_and_journal(mock_openai):
    client = mock_openai.client(max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    entries = mock_openai.journal()
    assert len(entries) == 1
    e = entries[0]
    assert e["session"] == mock_openai.session
    assert e["endpoint"] == "chat.completions" and e["status"] == 200 and e["retry_count"] == 0


async def test_async_client_and_reset(mock_openai):
    client = mock_openai.async_client(max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o", stream=True, messages=[{"role": "user", "content": "hi"}]
    )
    chunks = [c async for c in stream]
    assert chunks and mock_openai.journal()[0]["ended"] == "complete"
    mock_openai.reset()
    assert mock_openai.journal() == []


def test_sessions_of_two_handles_do_not_mix(mock_openai_server):
    from harness.pytest_plugin import MockOpenAI

    a = MockOpenAI(mock_openai_server, "plugin-a")
    b = MockOpenAI(mock_openai_server, "plugin-b")
    a.client(max_retries=0).models.list()
    assert len(a.journal()) == 1 and b.journal() == []
    a.reset()


PLUGIN_USER_TEST = """
import pytest

def test_user(mock_openai):
    c = mock_openai.client(max_retries=0)
    r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content
    assert mock_openai.journal()[0]["model"] == "gpt-4o-mini"

@pytest.mark.mock_scenario("no-such-scenario")
def test_marker_selects_scenario(mock_openai):
    import openai
    with pytest.raises(openai.BadRequestError) as exc:
        mock_openai.client(max_retries=0).models.list()
    assert exc.value.code == "unknown_scenario"
"""


def test_plugin_is_registered_by_entry_point_for_a_user_project(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=PLUGIN_USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


def test_a_mock_of_the_modules_own_settings_keeps_the_handle_and_the_journal(
    mock_openai_server_factory, mock_openai_server
):
    import openai

    from harness.pytest_plugin import MockOpenAI

    own = mock_openai_server_factory(api_keys=["sk-good"], time_scale=0.5)
    assert own.url != mock_openai_server.url and own.config.time_scale == 0.5
    handle = MockOpenAI(own, "plugin-own")
    with pytest.raises(openai.AuthenticationError):
        handle.client(max_retries=0).models.list()
    handle.client(api_key="sk-good", max_retries=0).models.list()
    assert [e["status"] for e in handle.journal()] == [401, 200]
    # the catalogue is there unless the settings say otherwise
    with pytest.raises(openai.BadRequestError, match="chat-stream-drop"):
        handle.client("chat-stream-drops-typo", api_key="sk-good", max_retries=0).models.list()


@pytest.mark.user_project  # a pytest of its own, in a project's folder: the user-project CI step
def test_scenarios_in_the_folder_pytest_runs_from_are_found_below_someone_elses_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    """An ini file further up (a monorepo's, an old checkout's) makes it pytest's rootdir; the
    project's ./scenarios, where pytest was started, is still the project's."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n")
    project = pytester.mkdir("myproject")
    (project / "scenarios").mkdir()
    (project / "scenarios" / "flaky-upstream.yaml").write_text(
        "description: A 503 first, then the answer.\nattempts: [{fault: http_error, status: 503}]\nthen: ok\n"
    )
    (project / "test_mine.py").write_text(
        "def test_mine(mock_openai):\n"
        "    c = mock_openai.client('flaky-upstream', max_retries=1)\n"
        "    c.models.list()\n"
        "    assert [e['status'] for e in mock_openai.journal()] == [503, 200]\n"
    )
    monkeypatch.chdir(project)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)
