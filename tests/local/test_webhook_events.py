"""``python -m mercator_local.webhook_events``: help, writing the event files, and checking them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercator_local.webhook_events import FOLDER, events, main, render


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    return {name: render(event) for name, event in events().items()}


def contents(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_help_describes_the_options_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty folder
    # When the command is asked for help
    with pytest.raises(SystemExit) as exited:
        main(["--help", "--out", str(tmp_path)])

    # Then it explains its options, exits 0 and writes nothing
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m mercator_local.webhook_events")
    for option in ("--check", "--out DIR"):
        assert option in out
    assert list(tmp_path.iterdir()) == []


def test_it_writes_every_event_file_into_the_folder_given(
    tmp_path: Path, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "webhook_intake"

    assert main(["--out", str(folder)]) == 0

    assert contents(folder) == expected
    assert capsys.readouterr().out.count("wrote ") == len(expected)


def test_check_passes_on_a_current_folder_and_changes_nothing(
    tmp_path: Path, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a folder the command wrote
    main(["--out", str(tmp_path)])
    capsys.readouterr()
    before = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}

    # When it is checked
    code = main(["--check", "--out", str(tmp_path)])

    # Then it is current and untouched
    assert code == 0
    assert f"{len(expected)} files current" in capsys.readouterr().out
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before


def test_check_names_stale_missing_and_extra_files_and_writes_nothing(
    tmp_path: Path, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a folder with one file edited, one deleted and one the command never makes
    main(["--out", str(tmp_path)])
    capsys.readouterr()
    stale, missing = sorted(expected)[:2]
    (tmp_path / stale).write_text("{}\n")
    (tmp_path / missing).unlink()
    (tmp_path / "renamed_event.json").write_text("{}\n")
    before = contents(tmp_path)

    # When it is checked
    code = main(["--check", "--out", str(tmp_path)])

    # Then it fails naming each file by what is wrong with it, and leaves the folder as it was
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"stale: {tmp_path / stale}",
        f"missing: {tmp_path / missing}",
        f"extra: {tmp_path / 'renamed_event.json'}",
    ]
    assert "python -m mercator_local.webhook_events" in captured.err
    assert contents(tmp_path) == before


def test_check_of_a_folder_that_does_not_exist_names_every_file_missing(
    tmp_path: Path, expected: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "absent"

    assert main(["--check", "--out", str(folder)]) == 1

    assert capsys.readouterr().out.splitlines() == [f"missing: {folder / name}" for name in sorted(expected)]
    assert not folder.exists()


def test_the_shipped_event_files_pass_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0, capsys.readouterr().out
    assert FOLDER.name == "webhook_intake"
