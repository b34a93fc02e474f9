"""Privacy for clinic exports: refuse identifying columns, pseudonymise patient identifiers.

Patient identifiers become HMAC-SHA256 digests under a key made on this machine on first use
and kept outside the repository (default ~/.config/ketamine-evidence/clinic.key, mode 0600;
PIPELINE_CLINIC_KEY_FILE overrides the path). The key and raw identifiers are never logged,
printed or stored in the warehouse; error messages name columns and rows, never values.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from pathlib import Path

import pandas as pd

from pipeline import config
from pipeline.clinic.mapping import normalise_header
from pipeline.config import project_root
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)

KEY_ENV = "PIPELINE_CLINIC_KEY_FILE"
DEFAULT_KEY_PATH = config.DEFAULT_CLINIC_KEY_FILE
KEY_BYTES = 32


class IdentifyingDataError(PipelineError):
    """The export holds columns that identify people; nothing is read further."""


# Headers that name identifying data, matched on the header reduced to letters and digits.
IDENTIFYING_HEADER_PARTS = (
    "firstname", "lastname", "fullname", "patientname", "givenname", "familyname", "middlename",
    "maidenname", "surname", "forename", "dateofbirth", "birthdate", "birthday", "address",
    "street", "postcode", "postalcode", "zipcode", "phone", "mobile", "email", "medicalrecord",
    "socialsecurity", "nhsnumber", "insurancenumber", "passport", "driverslicense",
)  # fmt: skip
IDENTIFYING_HEADER_WORDS = {"dob", "mrn", "ssn", "zip", "nhs", "tel", "fax", "cell"}
# "Name" identifies a person alone or beside these words ("Drug Name" does not).
PERSON_WORDS = {"patient", "client", "first", "last", "full", "given", "family", "middle", "person"}

IDENTIFYING_VALUE_PATTERNS = {
    "e-mail addresses": re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
    "SSN-like numbers": re.compile(r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])"),
    "phone numbers": re.compile(
        r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,5}\)\s?|\d{3}[\s.-])\d{3,4}[\s.-]?\d{4}(?![\w-])"
        r"|(?<![\w-])\+\d{1,3}(?:[\s.-]?\d{2,4}){3,4}(?![\w-])"
    ),
}


def identifying_header(header: str) -> bool:
    """True when a column header names identifying data (a name, birth date, contact, MRN, SSN)."""
    compact = normalise_header(header).replace("#", "")
    words = set(re.findall(r"[a-z]+", header.lower()))
    if "name" in words and (words <= {"name"} | PERSON_WORDS):
        return True
    return any(part in compact for part in IDENTIFYING_HEADER_PARTS) or bool(
        words & IDENTIFYING_HEADER_WORDS
    )


def check_identifying_columns(frame: pd.DataFrame, export: str, allowed: str | None = None) -> None:
    """Refuse an export whose headers or values identify people, naming every such column.

    `frame` holds the export as strings with its own headers, indexed by file row. `allowed` is
    the header mapped to the patient identifier (it is pseudonymised, so its name may say MRN);
    its values are still checked like every other column's.
    """
    by_header = [h for h in frame.columns if h != allowed and identifying_header(h)]
    by_value: list[str] = []
    for header in frame.columns:
        cells = frame[header].astype(str)
        for kind, pattern in IDENTIFYING_VALUE_PATTERNS.items():
            hits = cells.str.contains(pattern, regex=True)
            if hits.any():
                rows = [str(i) for i in hits[hits].index[:3]]
                more = ", ..." if hits.sum() > 3 else ""
                by_value.append(f"'{header}' holds {kind} (row {', '.join(rows)}{more})")
    if by_header or by_value:
        parts = []
        if by_header:
            parts.append(f"identifying columns {by_header}")
        if by_value:
            parts.append("identifying values: " + "; ".join(by_value))
        raise IdentifyingDataError(
            f"{export} was refused because it holds {' and '.join(parts)}. Export without "
            "names, birth dates, addresses, phone numbers, e-mail, MRN or SSN columns; the "
            "patient identifier column is pseudonymised on import (rows counted with the header "
            "as row 1; nothing was read into the warehouse)"
        )


def key_path() -> Path:
    """Where the pseudonymisation key lives: PIPELINE_CLINIC_KEY_FILE, else the user's config."""
    return config.clinic_key_file()


def git_work_tree(path: Path) -> Path | None:
    """The git working tree holding `path` (a folder at or above it with a .git entry), if any.

    A .git folder marks a repository, a .git file a linked worktree or submodule; both count.
    """
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _refuse_inside_repository(path: Path) -> None:
    """Refuse a key path inside a git working tree or the project, where it could be committed."""
    where = git_work_tree(path.parent)
    if where is None:
        for root in {project_root(), project_root(Path(__file__).parent)} - {None}:
            if path.is_relative_to(root):
                where = root
    if where is not None:
        raise PipelineError(
            f"the clinic key file {path} would be inside the git working tree {where} (or the "
            f"project folder), where it could be committed and would then unmask every patient "
            f"pseudonym; keep it outside any repository, e.g. at the default "
            f"{DEFAULT_KEY_PATH} (unset {KEY_ENV} or point it there)"
        )


def load_or_create_key(path: Path | None = None) -> bytes:
    """The pseudonymisation key, created (32 random bytes, file mode 0600) on first use.

    Refuses a key inside a git working tree or the project folder (it must never be
    committed) and a key file that others may read.
    """
    path = (path or key_path()).expanduser().resolve()
    _refuse_inside_repository(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by a concurrent process: read theirs below
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            log.info("created a new clinic pseudonymisation key at %s", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PipelineError(
            f"the clinic key file {path} can be read by others (mode {mode:o}); run chmod 600 on it"
        )
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise PipelineError(f"the clinic key file {path} is not a hex key") from None
    if len(key) < 16:
        raise PipelineError(f"the clinic key file {path} holds too short a key")
    return key


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of the key, to tell which key made a set of pseudonyms."""
    return hashlib.sha256(b"clinic-key-fingerprint:" + key).hexdigest()[:12]


def pseudonymise(identifiers: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 (hex) of each identifier, trimmed of surrounding spaces."""
    return identifiers.map(
        lambda value: hmac.new(key, str(value).strip().encode("utf-8"), hashlib.sha256).hexdigest()
    )
