"""The README's plugin examples, run verbatim in a project that is not this one: no conftest, no
ini settings (pytest-asyncio in its default strict mode), the project's own scenario file."""

from __future__ import annotations

import pytest
from readme_blocks import plugin_project

pytest_plugins = ["pytester"]


def test_the_readme_plugin_examples_pass_in_a_strict_mode_project(pytester: pytest.Pytester):
    plugin_project(pytester.path)
    pytester.makeini("[pytest]\n")  # this repo's asyncio_mode = auto must not leak in
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "-W", "error::pytest.PytestUnraisableExceptionWarning"
    )
    result.assert_outcomes(passed=4)


def test_a_project_scenario_path_that_does_not_exist_stops_the_session(pytester: pytest.Pytester):
    pytester.makepyfile(test_x="def test_x(mock_openai):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mock-scenarios", "nope/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*mock_openai: scenario path(s) not found: nope/*"])
