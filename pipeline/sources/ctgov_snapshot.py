"""Recorded registry snapshots: the bundled excerpt of posted outcome measures, and live runs
recorded with `--record DIR`, both read as the study documents the API returns.

A registry snapshot is a directory with `manifest.json` (format "ketamine-evidence-pipeline
registry snapshot 1") listing its files with their SHA-256, so a damaged copy is refused before
anything is loaded. Two kinds:

- `outcome_measures_excerpt`: JSON files `{"source": {...}, "ctgov_results": {NCT: [outcome
  measures]}}`, each list as `GET studies/{nctId}?fields=hasResults,resultsSection.
  outcomeMeasuresModule` returned it inside `resultsSection.outcomeMeasuresModule`. Each becomes
  the document `{"resultsSection": {"outcomeMeasuresModule": {"outcomeMeasures": [...]}}}`; the
  excerpt did not keep `hasResults` or anything outside the outcome measures, so nothing else is
  put in (the study's title, phase, dates, references stay empty in the warehouse);
- `studies`: one file per study, the document exactly as a live run received it.

A single excerpt `.json` file (no manifest) is read too, without a checksum to compare.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from pipeline.checksums import file_sha256
from pipeline.errors import PipelineError
from pipeline.sources.ctgov import FetchedStudy, study_nct_id

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "ketamine-evidence-pipeline registry snapshot 1"
EXCERPT = "outcome_measures_excerpt"
STUDIES = "studies"
EXCERPT_REQUEST = (
    "https://clinicaltrials.gov/api/v2/studies/{nct_id}"
    "?fields=hasResults,resultsSection.outcomeMeasuresModule"
)


class RegistrySnapshotError(PipelineError):
    """A registry snapshot that is missing, damaged or not what its manifest says."""


@dataclass(frozen=True)
class RegistrySnapshot:
    """A validated registry snapshot: where it is, its kind, and its files."""

    location: Path
    kind: str
    files: tuple[dict, ...]
    retrieved_on: date | None = None
    description: str = ""

    @property
    def study_count(self) -> int:
        """Studies the manifest promises (or that the single file holds)."""
        return sum(int(f.get("studies", 1)) for f in self.files)

    def documents(self) -> Iterator[FetchedStudy]:
        """Each study as a FetchedStudy (source 'snapshot'), in file order."""
        if self.kind == EXCERPT:
            for entry in self.files:
                yield from _excerpt_documents(
                    self.location / entry["path"] if self.location.is_dir() else self.location,
                    self.retrieved_on,
                    entry.get("request") or EXCERPT_REQUEST,
                )
        else:
            for entry in self.files:
                yield _recorded_document(self.location, entry)


def bundled_registry_snapshot() -> Path:
    """The registry snapshot shipped in pipeline/data/registry."""
    return Path(str(resources.files("pipeline") / "data" / "registry"))


def open_registry_snapshot(path: Path) -> RegistrySnapshot:
    """Read and check a registry snapshot (a directory with manifest.json, or one excerpt file)."""
    path = Path(path)
    if not path.exists():
        raise RegistrySnapshotError(f"no registry snapshot at {path}")
    if path.is_file():
        return RegistrySnapshot(path, EXCERPT, ({"path": path.name, "studies": 0},))
    manifest_path = path / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistrySnapshotError(f"{path} has no {MANIFEST_NAME}") from None
    except json.JSONDecodeError as error:
        raise RegistrySnapshotError(f"{manifest_path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise RegistrySnapshotError(f"{manifest_path} is not a registry snapshot manifest")
    kind = manifest.get("kind")
    if kind not in (EXCERPT, STUDIES):
        raise RegistrySnapshotError(f"{manifest_path}: unknown kind {kind!r}")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and "path" in f for f in files):
        raise RegistrySnapshotError(f"{manifest_path}: 'files' should list objects with a path")
    for entry in files:
        file_path = path / entry["path"]
        if not file_path.is_file():
            raise RegistrySnapshotError(f"{file_path} is listed in {manifest_path} but missing")
        expected = entry.get("sha256")
        if not expected:
            raise RegistrySnapshotError(f"{manifest_path}: no sha256 for {entry['path']}")
        actual = file_sha256(file_path)
        if actual != expected:
            raise RegistrySnapshotError(
                f"{file_path} does not match its checksum in {manifest_path} (damaged or edited)"
            )
    retrieved = manifest.get("retrieved_on")
    try:
        retrieved_on = date.fromisoformat(retrieved[:10]) if retrieved else None
    except ValueError:
        raise RegistrySnapshotError(f"{manifest_path}: retrieved_on is not a date") from None
    return RegistrySnapshot(
        path, kind, tuple(files), retrieved_on, str(manifest.get("description") or "")
    )


def _excerpt_documents(
    path: Path, retrieved_on: date | None, request: str
) -> Iterator[FetchedStudy]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RegistrySnapshotError(f"{path} is not valid JSON: {error}") from None
    results = data.get("ctgov_results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise RegistrySnapshotError(f"{path} has no 'ctgov_results' object of NCT ids")
    retrieved_at = (
        datetime.combine(retrieved_on, datetime.min.time())
        if retrieved_on
        else datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    )
    for nct_id, measures in results.items():
        if not isinstance(measures, list):
            raise RegistrySnapshotError(
                f"{path}: {nct_id} should map to a list of outcome measures"
            )
        document = {"resultsSection": {"outcomeMeasuresModule": {"outcomeMeasures": measures}}}
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        yield FetchedStudy(
            nct_id=nct_id,
            url=request.format(nct_id=nct_id),
            body=body,
            document=document,
            retrieved_at=retrieved_at,
            source="snapshot",
        )


def _recorded_document(location: Path, entry: dict) -> FetchedStudy:
    path = location / entry["path"]
    body = path.read_bytes()
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RegistrySnapshotError(f"{path} is not valid JSON: {error}") from None
    nct_id = entry.get("nct_id") or (study_nct_id(document) if isinstance(document, dict) else None)
    if not nct_id or not isinstance(document, dict):
        raise RegistrySnapshotError(f"{path} is not a study document with an NCT id")
    try:
        retrieved_at = datetime.fromisoformat(entry["retrieved_at"])
    except (KeyError, TypeError, ValueError):
        raise RegistrySnapshotError(f"{path}: its manifest entry has no retrieved_at") from None
    return FetchedStudy(nct_id, entry.get("url") or "", body, document, retrieved_at, "snapshot")


class RegistryRecorder:
    """Saves every study document a live run receives into DIR, as a `studies` snapshot."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, dict] = {}
        manifest = self.directory / MANIFEST_NAME
        if manifest.exists():  # a resumed recording keeps what it had
            try:
                old = json.loads(manifest.read_text(encoding="utf-8"))
                self.entries = {e["nct_id"]: e for e in old.get("files", [])}
            except (json.JSONDecodeError, KeyError, AttributeError):
                raise RegistrySnapshotError(f"{manifest} exists and is not a recording") from None

    def save(self, study: FetchedStudy) -> None:
        """Write the document's bytes exactly as received and update the manifest."""
        name = f"{study.nct_id}.json"
        (self.directory / name).write_bytes(study.body)
        self.entries[study.nct_id] = {
            "path": name,
            "nct_id": study.nct_id,
            "sha256": study.checksum,
            "url": study.url,
            "retrieved_at": study.retrieved_at.isoformat(),
        }
        self._write_manifest()

    def _write_manifest(self) -> None:
        manifest = {
            "format": MANIFEST_FORMAT,
            "kind": STUDIES,
            "retrieved_on": min(e["retrieved_at"] for e in self.entries.values())[:10],
            "description": "ClinicalTrials.gov API v2 study documents recorded by a live run",
            "files": sorted(self.entries.values(), key=lambda e: e["nct_id"]),
        }
        tmp = self.directory / (MANIFEST_NAME + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.directory / MANIFEST_NAME)
