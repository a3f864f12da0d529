"""`mercator api-keys create`, `list` and `revoke` against moto: the key shown once, only hashes kept."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mercator.cli import main
from mercator.state.api_keys import DynamoApiKeys


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, state_table: str) -> str:
    monkeypatch.setenv("STATE_TABLE", state_table)
    return state_table


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["api-keys", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_prints_the_key_once_on_stdout_and_a_warning_on_stderr(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any
) -> None:
    code, out, err = run(capsys, "create", "--tenant", "tenant-a")

    assert code == 0
    key = out.strip()
    match = re.fullmatch(r"mk_([0-9a-f]{16})\.[A-Za-z0-9_-]{43}", key)
    assert match is not None
    assert out == key + "\n"  # nothing else on stdout, so `KEY=$(mercator api-keys create ...)` works
    assert f"created API key {match[1]} for tenant tenant-a" in err
    assert "cannot show it again" in err
    assert key not in err
    assert DynamoApiKeys(dynamodb, env).verify(key) == "tenant-a"
    assert key.split(".")[1] not in json.dumps(dynamodb.scan(TableName=env)["Items"])


def test_list_shows_ids_status_and_dates_but_never_a_secret(
    capsys: pytest.CaptureFixture[str], env: str
) -> None:
    _, first, _ = run(capsys, "create", "--tenant=tenant-a")
    _, second, _ = run(capsys, "create", "--tenant=tenant-a")
    _, other, _ = run(capsys, "create", "--tenant=tenant-b")
    first_id, second_id = (key.strip()[3:19] for key in (first, second))
    run(capsys, "revoke", first_id)

    code, text, _ = run(capsys, "list", "--tenant=tenant-a")
    _, listed, _ = run(capsys, "list", "--tenant=tenant-a", "--format=json")

    assert code == 0
    header, *rows = text.splitlines()
    assert header.split() == ["KEY", "ID", "STATUS", "CREATED", "REVOKED"]
    statuses = {row.split()[0]: row.split()[1] for row in rows}
    assert statuses == {first_id: "revoked", second_id: "active"}
    by_id = {row["keyId"]: row for row in json.loads(listed)}
    assert set(by_id) == {first_id, second_id}
    assert by_id[first_id]["revoked"] is True and by_id[first_id]["revokedAt"] is not None
    assert by_id[second_id]["revoked"] is False and by_id[second_id]["revokedAt"] is None
    assert {row["tenantId"] for row in by_id.values()} == {"tenant-a"}
    for key in (first, second, other):
        secret = key.strip().split(".")[1]
        assert secret not in text and secret not in listed


def test_revoke_makes_the_key_fail_verification(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any
) -> None:
    _, out, _ = run(capsys, "create", "--tenant=tenant-a")
    key = out.strip()

    code, stdout, err = run(capsys, "revoke", key[3:19])

    assert (code, stdout) == (0, "")
    assert err.startswith(f"revoked API key {key[3:19]} of tenant tenant-a (since ")
    assert DynamoApiKeys(dynamodb, env).verify(key) is None


REFUSALS = [
    (("revoke", "0123456789abcdef"), "mercator api-keys revoke: no API key '0123456789abcdef'"),
    (
        ("revoke", "mk_0123456789abcdef"),
        "mercator api-keys revoke: 'mk_0123456789abcdef' is not an API key id",
    ),
    (("create", "--tenant=has space"), "mercator api-keys create: tenant 'has space' must start with"),
]


@pytest.mark.parametrize(("argv", "message"), REFUSALS)
def test_refusals_name_the_problem_and_store_nothing(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *argv)

    assert (code, out) == (1, "")
    assert err.startswith(message)
    assert dynamodb.scan(TableName=env)["Items"] == []


@pytest.mark.parametrize("argv", [("create", "--tenant=t1"), ("list", "--tenant=t1"), ("revoke", "0" * 16)])
def test_every_command_needs_the_state_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.delenv("STATE_TABLE", raising=False)

    code, out, err = run(capsys, *argv)

    assert (code, out) == (1, "")
    assert err == f"mercator api-keys {argv[0]}: set STATE_TABLE to the name of Mercator's state table\n"
