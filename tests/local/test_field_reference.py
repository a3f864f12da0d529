"""docs/content-types.md: generated from the content-type models, complete, and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercator.domain.content_types import CONTENT_TYPES, required_fields
from mercator_local.field_reference import TARGET, field_rows, main, render


def test_the_committed_reference_is_what_the_models_give() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "run `make docs` to rewrite docs/content-types.md"


@pytest.mark.parametrize("content_type", list(CONTENT_TYPES))
def test_every_field_has_a_row_with_a_description(content_type: str) -> None:
    rows = field_rows(content_type)
    names = [row.name for row in rows]

    assert set(CONTENT_TYPES[content_type].model_fields) <= set(names)
    assert [row.name for row in rows if not row.description] == []
    assert f"## {content_type}\n" in render()
    assert [row.name for row in rows if row.required and "." not in row.name] == required_fields(content_type)


@pytest.mark.parametrize(
    ("content_type", "name", "kind", "required", "allowed"),
    [
        ("ecommerce:orders", "items[].name", "text", True, "not empty"),
        ("ecommerce:orders", "items[].quantity", "number", True, "≥ 0"),
        ("ecommerce:orders", "shippingAddress.city", "text", False, ""),
        ("ecommerce:orders", "customer.email", "text", False, ""),
        ("ecommerce:orders", "currency", "text", True, "exactly 3 characters; ISO 4217 code, e.g. SAR"),
        ("ecommerce:carts", "items[].quantity", "number", True, "≥ 0"),
        ("ecommerce:carts", "items[].name", "text", False, ""),
        ("core:product", "images", "list of text", False, ""),
        ("core:customer", "acceptsMarketing", "boolean", False, "true or false"),
        ("core:customer", "attributes", "object", False, "any JSON object (free-form)"),
    ],
)
def test_nested_fields_types_and_rules(
    content_type: str, name: str, kind: str, required: bool, allowed: str
) -> None:
    row = next(row for row in field_rows(content_type) if row.name == name)

    assert (row.kind, row.required, row.allowed) == (kind, required, allowed)


def test_check_passes_on_a_current_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "content-types.md"
    assert main(["--out", str(target)]) == 0
    capsys.readouterr()

    assert main(["--check", "--out", str(target)]) == 0
    assert "is current" in capsys.readouterr().out


def test_check_of_a_stale_file_fails_with_a_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a reference whose description of one field is out of date
    target = tmp_path / "content-types.md"
    stale = render().replace("units in stock", "stock")
    target.write_text(stale, encoding="utf-8")

    # When it is checked
    code = main(["--check", "--out", str(target)])

    # Then it fails, shows the difference and how to fix it, and leaves the file as it was
    assert code == 1
    err = capsys.readouterr().err
    assert "-| `quantity` | number | optional |  | stock |" in err
    assert "+| `quantity` | number | optional |  | units in stock |" in err
    assert "is stale; run `make docs`" in err
    assert target.read_text(encoding="utf-8") == stale


def test_check_of_a_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--out", str(tmp_path / "absent.md")]) == 1
    assert "is missing" in capsys.readouterr().err
    assert not (tmp_path / "absent.md").exists()


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "--check" in capsys.readouterr().out
