"""`mercator integrations register` and `list` against moto: what is stored, and every refusal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from mercator.cli import main
from mercator.state.integrations import DynamoIntegrations
from mercator.state.models import Integration
from tests.unit.state.conftest import REGION

TOKEN = "tok_8e1f0c2b9a7d4e53a6b1c8d0f2e4a9b7"


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, state_table: str) -> str:
    monkeypatch.setenv("STATE_TABLE", state_table)
    return state_table


@pytest.fixture
def salla_credentials(tmp_path: Path) -> Path:
    path = tmp_path / "salla.json"
    path.write_text(json.dumps({"accessToken": TOKEN, "webhookSecret": "whsec"}), encoding="utf-8")
    return path


@pytest.fixture
def nothing_stored(env: str, dynamodb: Any, secrets: Any) -> Callable[[], bool]:
    return lambda: secret_names(secrets) == [] and dynamodb.scan(TableName=env)["Items"] == []


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["integrations", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def stored(dynamodb: Any, table: str, integration_id: str) -> Integration | None:
    return DynamoIntegrations(dynamodb, table).get(integration_id)


def secret_names(secrets: Any) -> list[str]:
    return [secret["Name"] for secret in secrets.list_secrets()["SecretList"]]


def test_register_stores_the_secret_and_the_active_integration(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, secrets: Any, salla_credentials: Path
) -> None:
    code, out, err = run(
        capsys,
        "register",
        "--connector=salla",
        "--tenant=t1",
        f"--credentials-file={salla_credentials}",
        "--id=salla-main",
        "--resources=orders, products",
        "--setting=baseUrl=http://127.0.0.1:8000/admin/v2",
        "--setting=label=main store",
    )

    assert (code, out) == (0, "salla-main\n")
    integration = stored(dynamodb, env, "salla-main")
    assert integration is not None
    assert (integration.tenant_id, integration.connector, integration.status) == ("t1", "salla", "active")
    assert integration.resources == ["orders", "products"]
    assert integration.settings == {"baseUrl": "http://127.0.0.1:8000/admin/v2", "label": "main store"}
    assert integration.created_at.tzinfo is not None
    secret = secrets.get_secret_value(SecretId="mercator/t1/salla-main")
    assert secret["ARN"] == integration.credentials_arn
    assert json.loads(secret["SecretString"]) == {"accessToken": TOKEN, "webhookSecret": "whsec"}
    assert integration.credentials_arn in err
    assert TOKEN not in err


def test_register_without_an_id_makes_one(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, secrets: Any, salla_credentials: Path
) -> None:
    code, out, _ = run(
        capsys,
        "register",
        "--connector",
        "salla",
        "--tenant",
        "t1",
        "--credentials-file",
        str(salla_credentials),
    )

    assert code == 0
    integration_id = out.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", integration_id)
    integration = stored(dynamodb, env, integration_id)
    assert integration is not None and integration.resources is None
    assert secret_names(secrets) == [f"mercator/t1/{integration_id}"]


def test_registering_again_updates_credentials_and_keeps_created_at(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, secrets: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    first.write_text('{"accessToken": "old"}', encoding="utf-8")
    second = tmp_path / "second.json"
    second.write_text('{"accessToken": "new"}', encoding="utf-8")
    args = ("register", "--connector=salla", "--tenant=t1", "--id=shop")
    run(capsys, *args, f"--credentials-file={first}")
    before = stored(dynamodb, env, "shop")

    code, _, _ = run(capsys, *args, f"--credentials-file={second}", "--resources=orders")

    after = stored(dynamodb, env, "shop")
    assert code == 0
    assert before is not None and after is not None
    assert after.created_at == before.created_at
    assert after.resources == ["orders"]
    assert json.loads(secrets.get_secret_value(SecretId="mercator/t1/shop")["SecretString"]) == {
        "accessToken": "new"
    }


def test_an_id_of_another_connector_is_not_taken_over(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, tmp_path: Path, salla_credentials: Path
) -> None:
    run(
        capsys,
        "register",
        "--connector=salla",
        "--tenant=t1",
        "--id=shop",
        f"--credentials-file={salla_credentials}",
    )
    zid = tmp_path / "zid.json"
    zid.write_text('{"accessToken": "a", "authorizationToken": "b", "storeId": "7"}', encoding="utf-8")

    code, out, err = run(
        capsys, "register", "--connector=zid", "--tenant=t1", "--id=shop", f"--credentials-file={zid}"
    )

    assert (code, out) == (1, "")
    assert "integration 'shop' already exists for tenant 't1' and connector 'salla'" in err
    integration = stored(dynamodb, env, "shop")
    assert integration is not None and integration.connector == "salla"


def test_an_unknown_connector_lists_the_shipped_ones(
    capsys: pytest.CaptureFixture[str], env: str, secrets: Any, salla_credentials: Path
) -> None:
    code, out, err = run(
        capsys, "register", "--connector=sala", "--tenant=t1", f"--credentials-file={salla_credentials}"
    )

    assert (code, out) == (1, "")
    assert err == (
        "mercator integrations register: unknown connector 'sala'; "
        "shipped connectors: salla, shopify, woocommerce, zid\n"
    )
    assert secret_names(secrets) == []


@pytest.mark.parametrize(
    "case",
    [
        (
            ["--connector=shopify"],
            {"accessToken": "a"},
            "the credentials lack shopDomain, which connector 'shopify' needs",
        ),
        (["--connector=salla"], {"accesToken": "a"}, "the credentials lack accessToken"),
        (["--connector=salla"], {"accessToken": ""}, "the credentials lack accessToken"),
        (
            ["--connector=woocommerce", "--setting=baseUrl=http://127.0.0.1:9000/wp-json/wc/v3"],
            {"consumerKey": "ck"},
            "the credentials lack consumerSecret, which connector 'woocommerce' needs",
        ),
        (
            ["--connector=salla", "--resources=orders,carts"],
            {"accessToken": "a"},
            "connector 'salla' has no enabled resource 'carts'; "
            "resources: orders, products, customers, abandoned_carts",
        ),
        (["--connector=salla", "--resources=,"], {"accessToken": "a"}, "give at least one resource"),
        (["--connector=salla", "--setting=baseUrl=ftp://x"], {"accessToken": "a"}, "is not an http(s) URL"),
        (["--connector=salla", "--setting=noequals"], {"accessToken": "a"}, "must be NAME=VALUE"),
        (
            ["--connector=salla", "--setting=rateLimitPerSecond=0"],
            {"accessToken": "a"},
            "setting rateLimitPerSecond '0' must be a number of requests per second above 0",
        ),
        (
            ["--connector=salla", "--setting=rateLimitPerSecond=fast"],
            {"accessToken": "a"},
            "setting rateLimitPerSecond 'fast' must be a number",
        ),
        (["--connector=salla", "--id=a#b"], {"accessToken": "a"}, "integration id 'a#b' must start with"),
    ],
)
def test_bad_registrations_are_refused_before_anything_is_stored(
    capsys: pytest.CaptureFixture[str],
    nothing_stored: Callable[[], bool],
    tmp_path: Path,
    case: tuple[list[str], dict[str, str], str],
) -> None:
    argv, credentials, message = case
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(credentials), encoding="utf-8")

    code, out, err = run(capsys, "register", "--tenant=t1", f"--credentials-file={path}", *argv)

    assert (code, out) == (1, "")
    assert message in err
    assert nothing_stored()


def test_a_woocommerce_store_behind_a_base_url_setting_needs_no_store_url(
    capsys: pytest.CaptureFixture[str], env: str, tmp_path: Path
) -> None:
    path = tmp_path / "woo.json"
    path.write_text('{"consumerKey": "ck", "consumerSecret": "cs"}', encoding="utf-8")

    code, out, _ = run(
        capsys,
        "register",
        "--connector=woocommerce",
        "--tenant=t1",
        "--id=woo",
        f"--credentials-file={path}",
        "--setting=baseUrl=http://127.0.0.1:9000/wp-json/wc/v3",
    )

    assert (code, out) == (0, "woo\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f'{{"accessToken": "{TOKEN}"', "not JSON (line 1, column"),
        (f'{{"accessToken": ["{TOKEN}"]}}', "must be a JSON object of credential names to text values"),
        (f'["{TOKEN}"]', "must be a JSON object"),
    ],
)
def test_a_bad_credentials_file_is_refused_without_showing_it(
    capsys: pytest.CaptureFixture[str], env: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(content, encoding="utf-8")

    code, _, err = run(capsys, "register", "--connector=salla", "--tenant=t1", f"--credentials-file={path}")

    assert code == 1
    assert message in err
    assert TOKEN not in err


def test_a_missing_credentials_file_is_named(
    capsys: pytest.CaptureFixture[str], env: str, tmp_path: Path
) -> None:
    path = tmp_path / "absent.json"

    code, _, err = run(capsys, "register", "--connector=salla", "--tenant=t1", f"--credentials-file={path}")

    assert code == 1
    assert f"{path}: cannot read" in err


def test_without_state_table_the_command_says_what_to_set(
    capsys: pytest.CaptureFixture[str], aws: None, monkeypatch: pytest.MonkeyPatch, salla_credentials: Path
) -> None:
    monkeypatch.delenv("STATE_TABLE", raising=False)

    code, _, err = run(
        capsys, "register", "--connector=salla", "--tenant=t1", f"--credentials-file={salla_credentials}"
    )

    assert code == 1
    assert "set STATE_TABLE to the name of Mercator's state table" in err


def test_a_state_table_that_does_not_exist_is_named(
    capsys: pytest.CaptureFixture[str], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_TABLE", "mercator-state-typo")

    code, _, err = run(capsys, "list")

    assert code == 1
    assert "'mercator-state-typo' does not exist" in err


def test_list_prints_every_integration(
    capsys: pytest.CaptureFixture[str], env: str, dynamodb: Any, salla_credentials: Path
) -> None:
    for tenant, id_, resources in (("t2", "b-shop", "orders"), ("t1", "a-shop", None)):
        extra = [f"--resources={resources}"] if resources else []
        register = ("register", "--connector=salla", f"--tenant={tenant}", f"--id={id_}")
        run(capsys, *register, f"--credentials-file={salla_credentials}", *extra)
    DynamoIntegrations(dynamodb, env).set_status("b-shop", "disabled")

    code, out, _ = run(capsys, "list")

    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["ID", "TENANT", "CONNECTOR", "STATUS", "RESOURCES", "CREATED"]
    assert lines[1].split()[:5] == ["a-shop", "t1", "salla", "active", "(all)"]
    assert lines[2].split()[:5] == ["b-shop", "t2", "salla", "disabled", "orders"]

    code, out, _ = run(capsys, "list", "--status=active", "--format=json")
    listed = json.loads(out)
    assert [entry["id"] for entry in listed] == ["a-shop"]
    assert ":secret:mercator/t1/a-shop" in listed[0]["credentials_arn"]
    assert TOKEN not in out
