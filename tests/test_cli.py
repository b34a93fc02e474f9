"""The command line: a command imports only its own module; help still lists every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.cli import build_parser, chosen_command, command_modules


def test_the_command_a_line_names_is_found_after_the_top_level_options():
    assert chosen_command(["status", "--db", "x"]) == "status"
    assert chosen_command(["-v", "extract-text", "--help"]) == "extract_text"
    assert chosen_command(["--verbose", "registry", "ingest"]) == "registry"


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version"], ["no-such-command"], ["-x"]])
def test_without_a_known_command_every_command_is_registered(argv):
    assert chosen_command(argv) is None
    help_text = build_parser(chosen_command(argv)).format_help()
    for name in command_modules():
        assert name.replace("_", "-") in help_text


@pytest.mark.slow
def test_a_command_does_not_import_the_other_commands_or_their_libraries(tmp_path):
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        f"main(['status', '--db', {str(tmp_path / 'none.duckdb')!r}])\n"
        "print(sorted(m for m in sys.modules if m.startswith('pipeline.commands.')))\n"
        "print('pandas' in sys.modules, 'scipy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['pipeline.commands.status']", "False False"]


def test_an_interrupt_duckdb_reports_as_an_error_ends_the_command_as_interrupted(
    monkeypatch, capsys
):
    """DuckDB raises RuntimeError('Query interrupted') for Ctrl-C inside a query: exit code 130."""
    from pipeline import cli
    from pipeline.commands import status

    def raises(error: BaseException):
        def run(args) -> int:
            raise error

        return run

    monkeypatch.setattr(status, "run", raises(RuntimeError("Query interrupted")))
    assert cli.main(["status"]) == 130
    assert "interrupted" in capsys.readouterr().err
    monkeypatch.setattr(status, "run", raises(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["status"])
