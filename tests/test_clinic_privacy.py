"""Privacy: identifying exports refused, patient ids replaced by a keyed hash, key kept safe."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from pipeline import warehouse
from pipeline.clinic import load
from pipeline.clinic.privacy import (
    IdentifyingDataError,
    check_identifying_columns,
    identifying_header,
    key_fingerprint,
    load_or_create_key,
    pseudonymise,
)
from pipeline.errors import PipelineError

DATA = Path(__file__).parent / "data" / "clinic"
RAW_IDS = ("A1001", "B2002", "C3003")


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "keys" / "clinic.key"
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(path))
    return path


@pytest.mark.parametrize(
    "header",
    ["Patient Name", "First Name", "surname", "Name", "DOB", "Date of Birth", "Home Address",
     "Postcode", "ZIP", "Phone", "Mobile Number", "E-mail", "Email Address", "MRN",
     "Medical Record Number", "SSN", "Social Security No", "NHS Number"],
)  # fmt: skip
def test_identifying_headers_are_recognised(header):
    assert identifying_header(header)


@pytest.mark.parametrize(
    "header",
    ["Patient ID", "Drug Name", "Session Date", "Dose Unit", "PHQ-9 Pre", "Notes", "Route"],
)
def test_ordinary_headers_are_not_flagged(header):
    assert not identifying_header(header)


def test_identifying_headers_refuse_the_export_naming_each_column(key_file):
    with pytest.raises(IdentifyingDataError) as caught:
        load.check_file(DATA / "identifying_headers.csv")
    message = str(caught.value)
    assert "identifying columns ['Patient Name', 'Date of Birth', 'E-mail']" in message
    assert "'E-mail' holds e-mail addresses (row 2)" in message
    assert "Jane" not in message and "jane@example.org" not in message and "1980" not in message


def test_identifying_values_in_any_column_refuse_the_export_without_echoing_them(key_file):
    with pytest.raises(IdentifyingDataError) as caught:
        load.check_file(DATA / "identifying_values.csv")
    message = str(caught.value)
    assert "'Notes' holds phone numbers (row 2)" in message
    assert "'Comments' holds SSN-like numbers (row 4)" in message
    assert "555" not in message and "6789" not in message


@pytest.mark.parametrize(
    ("value", "kind"),
    [("a.b@clinic.example.com", "e-mail addresses"), ("555-123-4567", "phone numbers"),
     ("+44 20 7946 0958", "phone numbers"), ("(020) 7946 0958", "phone numbers"),
     ("078-05-1120", "SSN-like numbers")],
)  # fmt: skip
def test_value_patterns(value, kind):
    frame = pd.DataFrame({"Patient ID": ["X1", "X2"], "Other": ["ok", value]}, index=[2, 3])
    with pytest.raises(IdentifyingDataError, match=f"'Other' holds {kind} \\(row 3\\)"):
        check_identifying_columns(frame, "export.csv", allowed="Patient ID")


@pytest.mark.parametrize(
    "value", ["2025-01-06", "2025-01-06 00:00:00", "120/80", "KC0041237", "0.5", "56"]
)
def test_session_values_are_not_mistaken_for_identifiers(value):
    frame = pd.DataFrame({"Patient ID": ["KC0041237"], "Other": [value]}, index=[2])
    check_identifying_columns(frame, "export.csv", allowed="Patient ID")


def test_a_mapped_patient_id_may_be_called_mrn_but_another_mrn_column_is_refused(
    key_file, tmp_path
):
    _, _, (result, _) = load.check_file(DATA / "mrn_export.csv", DATA / "mrn_mapping.toml")
    assert result.problems == []
    both = tmp_path / "both.csv"
    both.write_text("Patient ID,MRN\nA1,778812\n")
    with pytest.raises(IdentifyingDataError, match=r"identifying columns \['MRN'\]"):
        load.check_file(both)


def test_key_is_created_once_with_owner_only_permissions(key_file):
    key = load_or_create_key()
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key() == key
    assert key_fingerprint(key) != key.hex()[:12]


def test_a_key_others_can_read_is_refused(key_file):
    load_or_create_key()
    os.chmod(key_file, 0o644)
    with pytest.raises(PipelineError, match="can be read by others .*chmod 600"):
        load_or_create_key()


def test_a_key_inside_the_project_is_refused(monkeypatch):
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(repo / "warehouse" / "clinic.key"))
    with pytest.raises(PipelineError, match="inside the git working tree"):
        load_or_create_key()
    assert not (repo / "warehouse" / "clinic.key").exists()


def test_a_key_inside_the_repository_is_refused_from_any_folder(monkeypatch, tmp_path):
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)  # not the project: the key path alone must give it away
    target = repo / "keys-for-test" / "clinic.key"
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(target))
    with pytest.raises(PipelineError, match="inside the git working tree") as caught:
        load_or_create_key()
    assert "~/.config/ketamine-evidence/clinic.key" in str(caught.value)
    assert not target.parent.exists()


def test_a_key_inside_any_git_work_tree_is_refused(monkeypatch, tmp_path):
    other = tmp_path / "notes-repo"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    monkeypatch.chdir(tmp_path)
    target = other / "deep" / "er" / "clinic.key"
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(target))
    with pytest.raises(PipelineError, match=r"inside the git working tree .*notes-repo.* could be "
                       r"committed"):  # fmt: skip
        load_or_create_key()
    assert not (other / "deep").exists()
    # a linked worktree has a .git file, not a folder: refused the same way
    linked = tmp_path / "linked"
    (linked / "sub").mkdir(parents=True)
    (linked / ".git").write_text("gitdir: /somewhere/.git/worktrees/linked\n")
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(linked / "sub" / "clinic.key"))
    with pytest.raises(PipelineError, match="inside the git working tree"):
        load_or_create_key()


def test_git_ignores_key_files_as_a_second_guard():
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        pytest.skip("the tests run from a copy that is not a git checkout")
    for name in ("clinic.key", "warehouse/clinic.key", "some/where/site.key"):
        checked = subprocess.run(
            ["git", "-C", str(repo), "check-ignore", "-q", "--no-index", name], check=False
        )
        assert checked.returncode == 0, f"git does not ignore {name}"


def test_pseudonyms_are_hmac_sha256_of_the_trimmed_identifier():
    key = bytes(range(32))
    ids = pd.Series(["A1001", " A1001 ", "B2002"])
    expected = hmac.new(key, b"A1001", hashlib.sha256).hexdigest()
    assert list(pseudonymise(ids, key)) == [
        expected,
        expected,
        hmac.new(key, b"B2002", hashlib.sha256).hexdigest(),
    ]
    assert pseudonymise(ids, bytes(32))[0] != expected  # another key, other pseudonyms


def test_no_raw_identifier_reaches_the_database_file_or_the_log(key_file, tmp_path, caplog):
    db = tmp_path / "w.duckdb"
    caplog.set_level(logging.DEBUG)
    con = warehouse.connect(db)
    load.import_export(con, DATA / "good.csv")
    keys = {
        r[0]
        for r in con.execute("SELECT DISTINCT patient_key FROM core.clinic_sessions").fetchall()
    }
    con.execute("CHECKPOINT")
    con.close()
    key = load_or_create_key()
    assert keys == {hmac.new(key, i.encode(), hashlib.sha256).hexdigest() for i in RAW_IDS}
    files = [db, *tmp_path.glob("w.duckdb*")]
    for path in files:
        data = path.read_bytes()
        for raw_id in RAW_IDS:
            assert raw_id.encode() not in data, f"{raw_id} found in {path.name}"
            assert raw_id.encode("utf-16-le") not in data
        assert key.hex().encode() not in data
    assert not any(raw_id in caplog.text for raw_id in RAW_IDS)
    assert key.hex() not in caplog.text
    # and no free text: the Notes column was read for the privacy check, never stored
    con = warehouse.connect(db, read_only=True)
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'clinic_sessions'"
    ).fetchall()}  # fmt: skip
    con.close()
    assert "notes" not in columns and "patient_id" not in columns
    assert b"first infusion" not in db.read_bytes()
