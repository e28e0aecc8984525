"""The repro blocks (``stack:`` and ``expect:``) are part of the one scenario schema: ``mockopenai
validate`` checks them with file and line, and the repro knows exactly what the schema allows."""

from __future__ import annotations

from mockserver.cli import main as mockopenai


def test_validate_checks_the_repro_blocks_with_file_and_line(tmp_path, capsys):
    bad = tmp_path / "repro-blocks.yaml"
    bad.write_text(
        "description: d\n"
        "stack:\n"
        "  drive: websocket\n"
        "  settings: {read_timeout_ms: soon}\n"
        "  inputs: {}\n"
        "expect:\n"
        "  gatway: {outcome: ok}\n"
        "  wire: {requests: {min: two}, statuses: {contains: 200, at: 1}, error: {matches: '('}}\n"
    )
    assert mockopenai(["validate", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:3: stack.drive: expected one of sdk, gateway,")
    assert err[1] == f"{bad}:4: stack.settings.read_timeout_ms: expected a number, got the string 'soon'"
    assert err[2].startswith(f"{bad}:5: stack.inputs: unknown field for stack; expected one of drive, input")
    assert (
        err[3].startswith(f"{bad}:7: expect.gatway: unknown field") and "(did you mean 'gateway'?)" in err[3]
    )
    assert err[4] == f"{bad}:8: expect.wire.requests.min: expected a number, got the string 'two'"
    assert err[5].startswith(
        f"{bad}:8: expect.wire.statuses: mixes operators (contains) with other keys (at)"
    )
    assert err[6].startswith(f"{bad}:8: expect.wire.error.matches: not a regular expression")
    assert err[7] == "7 problem(s); 0 valid scenario(s)"


def test_the_repro_knows_every_drive_and_operator_the_schema_allows():
    from harness.repro.drivers import DRIVERS
    from harness.repro.expect import OPERATORS
    from mockserver.scenario.schema import DRIVES, EXPECT_OPERATORS

    assert set(DRIVERS) == set(DRIVES)
    assert set(OPERATORS) == set(EXPECT_OPERATORS)
