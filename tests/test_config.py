"""Settings in one place, and a README that names every command and every setting."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from pipeline import config
from pipeline.cli import build_parser
from pipeline.errors import PipelineError

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ or os.getenv."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv"}:
            lines.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in {"environ", "getenv"} for alias in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_config_module_reads_the_environment():
    offenders = []
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        if path == REPO / "pipeline" / "config.py":
            continue
        for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert not offenders, f"read settings through pipeline.config: {offenders}"


def test_every_setting_is_in_the_readme():
    missing = [s.name for s in config.SETTINGS if f"`{s.name}`" not in README]
    assert not missing, f"settings not documented in README.md: {missing}"


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """'python -m pipeline X' for every command and 'python -m pipeline X Y' for sub-commands."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                found.extend(nested or [f"{prefix} {name}"])
    return found


def test_every_command_is_in_the_readme():
    commands = _commands(build_parser(), "python -m pipeline")
    assert len(commands) >= 10
    missing = [command for command in commands if command not in README]
    assert not missing, f"commands not shown in README.md: {missing}"


def test_an_unlisted_setting_cannot_be_read():
    with pytest.raises(KeyError):
        config._read("PIPELINE_NOT_A_SETTING")


def test_empty_counts_as_unset(monkeypatch):
    monkeypatch.setenv("PIPELINE_DB", "")
    monkeypatch.chdir(REPO)
    assert config.resolve_db_path() == REPO / config.DEFAULT_DB_RELATIVE


def test_numbers_in_settings_are_checked(monkeypatch):
    monkeypatch.setenv("EUTILS_TIMEOUT", "soon")
    with pytest.raises(PipelineError, match="EUTILS_TIMEOUT"):
        config.eutils_timeout()
    monkeypatch.setenv("EUTILS_RETRY_DELAYS", "1,2,x")
    with pytest.raises(PipelineError, match="EUTILS_RETRY_DELAYS"):
        config.eutils_retry_delays()
    monkeypatch.setenv("EUTILS_RETRY_DELAYS", "1, 2.5")
    assert config.eutils_retry_delays() == (1.0, 2.5)


def test_settings_for_children_restores_the_environment(monkeypatch):
    monkeypatch.setenv("PIPELINE_DB", "before.duckdb")
    monkeypatch.delenv("PIPELINE_FIGURES_DIR", raising=False)
    with config.settings_for_children(PIPELINE_DB="inside.duckdb", PIPELINE_FIGURES_DIR="figs"):
        assert config.resolve_db_path() == Path("inside.duckdb")
        assert config.figures_dir() == "figs"
    assert config.resolve_db_path() == Path("before.duckdb")
    assert config.figures_dir() is None
