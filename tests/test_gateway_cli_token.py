"""`harness token` mints a token the gateway accepts."""

from __future__ import annotations

from harness.cli import main
from harness.gateway.auth import verify_token


def test_token_is_signed_with_the_secret_and_names_the_subject(capsys, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    assert main(["token", "--sub", "alice", "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(token, "s" * 40).sub == "alice"


def test_token_without_a_secret_says_so(capsys, monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert main(["token"]) == 2
    assert "JWT_SECRET" in capsys.readouterr().out
