"""Recorded snapshots: reading them for an offline ingest, and recording a live run as one.

A snapshot is a directory holding `manifest.json` and the files it lists, or a single `.xml`
(an efetch response, a PubmedArticleSet) or `.jsonl` file (one JSON record per line). The
manifest gives each file's kind, record count and SHA-256, so a damaged copy is refused before
anything is loaded. Kinds:

- `pubmed_xml`: a PubmedArticleSet (efetch response), read by `parse.parse_pubmed_xml`;
- `jsonl`: JSON records read by `parse.article_from_json`; the raw payload of a record is
  its line's bytes exactly (without the line ending);
- `esearch_xml`: a recorded eSearchResult (its ids become sightings on replay);
- `doc`: documentation kept with the data (SOURCES.md), not read.

Where a PMID appears in both an XML and a JSON file, the XML record (richer) becomes the
article; the JSON record's raw bytes are still kept. Where a PMID appears twice in the same
format, the first copy (in reading order) is the one loaded, and the later one is never
silently lost nor silently preferred: an identical copy is marked as a duplicate and counted,
a differing copy is quarantined with its bytes; both are logged with the two locations.
"""

from __future__ import annotations

import json
import logging
import os
import xml.etree.ElementTree as ET
from array import array
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from pipeline.article_rows import ArticleRows
from pipeline.checksums import file_sha256
from pipeline.errors import PipelineError
from pipeline.models import Article, Quarantined, RawRecord
from pipeline.parse import (
    FollowUp,
    NotArticleSetError,
    ParsedRecord,
    RecordParseError,
    TruncatedXMLError,
    article_from_json,
    iter_record_bytes,
    parse_pubmed_xml,
)

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "ketamine-evidence-pipeline snapshot 1"
RECORD_KINDS = ("pubmed_xml", "jsonl")
KINDS = (*RECORD_KINDS, "esearch_xml", "doc")
SOURCE = "snapshot"


class SnapshotError(PipelineError):
    """A snapshot that is missing, damaged or not what its manifest says."""


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a snapshot, as the manifest describes it."""

    path: Path
    kind: str
    records: int | None = None
    sha256: str | None = None
    query: str | None = None
    origin: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Snapshot:
    """A validated snapshot: where it is, when it was taken, and its files in reading order."""

    location: Path
    files: tuple[SnapshotFile, ...]
    snapshot_date: date | None = None
    description: str = ""
    query: str | None = None

    @property
    def record_count(self) -> int:
        """Records in the record files (XML articles plus JSON lines)."""
        return sum(f.records or 0 for f in self.files if f.kind in RECORD_KINDS)


@dataclass(frozen=True)
class SnapshotRecord:
    """A record read from a snapshot: `article` is None when an XML record of the same PMID
    supersedes this JSON one (its raw bytes are still kept). `duplicate_of` names the location
    of an identical earlier copy: such a record is counted, not loaded again. `extraction` is
    what a follow-up computed from the article while it was parsed (see `iter_snapshot`). An
    XML article parsed in a worker process comes as its warehouse rows (`ArticleRows`)."""

    raw: RawRecord
    article: Article | ArticleRows | None
    query: str | None
    location: str
    duplicate_of: str | None = None
    extraction: object | None = None


@dataclass(frozen=True)
class SnapshotSearch:
    """The ids a recorded esearch response found, with the query that found them."""

    query: str | None
    pmids: tuple[str, ...]
    location: str


def bundled_snapshot_dir() -> Path:
    """The snapshot shipped inside the package (pipeline/data/snapshot)."""
    return Path(str(resources.files("pipeline") / "data" / "snapshot"))


# --- opening and validating -----------------------------------------------------------------


def open_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Open a snapshot directory (with manifest.json) or a single .xml / .jsonl file.

    Every file is checked (present, checksum, structure, record count) before anything is
    loaded; a problem raises SnapshotError naming the file.
    """
    location = Path(path)
    if location.is_dir():
        snapshot = _read_manifest(location)
    elif location.is_file():
        snapshot = Snapshot(location, (_single_file(location),), description=location.name)
    else:
        raise SnapshotError(f"the snapshot {location} does not exist")
    return Snapshot(
        snapshot.location,
        tuple(_validated(f) for f in snapshot.files),
        snapshot.snapshot_date,
        snapshot.description,
        snapshot.query,
    )


def _single_file(path: Path) -> SnapshotFile:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return SnapshotFile(path, "pubmed_xml")
    if suffix in (".jsonl", ".ndjson"):
        return SnapshotFile(path, "jsonl")
    raise SnapshotError(
        f"the snapshot file {path} is neither .xml (PubmedArticleSet) nor .jsonl (JSON lines)"
    )


def _read_manifest(directory: Path) -> Snapshot:
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise SnapshotError(f"the snapshot directory {directory} has no {MANIFEST_NAME}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnapshotError(f"the snapshot manifest {manifest_path} is corrupt: {error}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise SnapshotError(f"the snapshot manifest {manifest_path} has no list of files")
    files = []
    for index, entry in enumerate(manifest["files"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise SnapshotError(f"entry {index} of {manifest_path} has no file path")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise SnapshotError(
                f"entry {index} of {manifest_path} ({entry['path']}) has an unknown kind "
                f"{kind!r}; expected one of {', '.join(KINDS)}"
            )
        relative = Path(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            raise SnapshotError(f"entry {index} of {manifest_path} points outside the snapshot")
        files.append(
            SnapshotFile(
                directory / relative,
                kind,
                entry.get("records"),
                entry.get("sha256"),
                entry.get("query", manifest.get("query")),
                entry.get("origin"),
            )
        )
    raw_date = manifest.get("snapshot_date")
    try:
        snapshot_date = date.fromisoformat(raw_date) if raw_date else None
    except (TypeError, ValueError):
        raise SnapshotError(
            f"the snapshot manifest {manifest_path} has a bad snapshot_date {raw_date!r}"
        ) from None
    # XML before JSON, so an XML record is known before a JSON copy of the same PMID.
    order = {"esearch_xml": 0, "pubmed_xml": 1, "jsonl": 2, "doc": 3}
    files.sort(key=lambda f: order[f.kind])
    return Snapshot(
        directory,
        tuple(files),
        snapshot_date,
        str(manifest.get("description") or ""),
        manifest.get("query"),
    )


def _validated(entry: SnapshotFile) -> SnapshotFile:
    """Check one file against its manifest entry; returns it with its record count filled in."""
    path = entry.path
    if not path.is_file():
        raise SnapshotError(f"the snapshot file {path} is missing")
    if entry.sha256 and file_sha256(path) != entry.sha256:
        raise SnapshotError(
            f"the snapshot file {path} is corrupt: its SHA-256 differs from the manifest's"
        )
    if entry.kind == "doc":
        return entry
    try:
        count = _count_records(entry)
    except (OSError, UnicodeDecodeError) as error:
        raise SnapshotError(f"the snapshot file {path} cannot be read: {error}") from None
    if entry.records is not None and entry.records != count:
        raise SnapshotError(
            f"the snapshot file {path} holds {count} records, its manifest says {entry.records}"
        )
    return SnapshotFile(path, entry.kind, count, entry.sha256, entry.query, entry.origin)


def _count_records(entry: SnapshotFile) -> int:
    path = entry.path
    if entry.kind == "pubmed_xml":
        try:
            with path.open("rb") as handle:
                return sum(1 for _ in iter_record_bytes(handle))
        except (TruncatedXMLError, NotArticleSetError) as error:
            raise SnapshotError(f"the snapshot file {path} is corrupt: {error}") from None
    if entry.kind == "esearch_xml":
        return len(_esearch_ids(path))
    count = 0
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                raise SnapshotError(
                    f"the snapshot file {path} is corrupt: line {line_no} is not JSON ({error})"
                ) from None
            count += 1
    return count


def _esearch_ids(path: Path) -> list[str]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise SnapshotError(f"the snapshot file {path} is corrupt: {error}") from None
    if root.tag != "eSearchResult":
        raise SnapshotError(f"the snapshot file {path} is not an eSearchResult")
    return [(e.text or "").strip() for e in root.iterfind("IdList/Id")]


# --- reading records ------------------------------------------------------------------------


def iter_snapshot(
    snapshot: Snapshot, pool: Executor | None = None, follow_up: FollowUp | None = None
) -> Iterator[SnapshotRecord | Quarantined]:
    """Every record of a validated snapshot, XML files first, then JSON lines; XML records are
    parsed in the `pool`'s worker processes when one is given (same records, same order), and
    the `follow_up` of `parse.parse_pubmed_xml` runs there on them when given.

    Bad records come out as Quarantined (stage 'parse') with their bytes, never skipped. A PMID
    seen again in the same format comes out marked as a duplicate (identical bytes) or as
    Quarantined (stage 'load', differing bytes), the first copy being the one loaded.
    """
    first_seen = FirstCopies()
    for entry in snapshot.files:
        if entry.kind == "pubmed_xml":
            with entry.path.open("rb") as handle:
                try:
                    items = parse_pubmed_xml(
                        handle, SOURCE, origin=entry.name, pool=pool, follow_up=follow_up
                    )
                    for index, item in enumerate(items, 1):
                        if isinstance(item, ParsedRecord):
                            place = Place("record ", index, f" of {entry.name}")
                            record = SnapshotRecord(
                                item.raw, item.article, entry.query, str(place),
                                extraction=item.extraction,
                            )  # fmt: skip
                            yield _first_copy_or_duplicate(record, place, first_seen)
                        else:
                            yield item
                except (TruncatedXMLError, NotArticleSetError) as error:
                    raise SnapshotError(
                        f"the snapshot file {entry.path} is corrupt: {error}"
                    ) from None
        elif entry.kind == "jsonl":
            for item, place in _iter_jsonl(entry, first_seen):
                if isinstance(item, SnapshotRecord):
                    item = _first_copy_or_duplicate(item, place, first_seen)
                yield item


@dataclass(frozen=True)
class Place:
    """Where a record is in a snapshot, said as `before` + its number + `after`
    ("record 7 of a.xml", "b.jsonl line 3")."""

    before: str
    number: int
    after: str

    def __str__(self) -> str:
        return f"{self.before}{self.number}{self.after}"


class FirstCopies:
    """The first copy of each (format, PMID) read from a snapshot: where it was and the SHA-256
    of its bytes. Kept compactly, since it grows with the snapshot: a PMID written as a plain
    number is an int key, and each copy is a slot in arrays (file, number, 32-byte digest)
    instead of two strings."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[int | str | None, int]] = {}  # format -> PMID -> slot
        self._texts: dict[tuple[str, str], int] = {}  # (before, after) of a Place -> its number
        self._text_list: list[tuple[str, str]] = []  # the same, by number
        self._text_of_slot = array("I")
        self._number_of_slot = array("Q")
        self._digests = bytearray()  # 32 bytes a slot

    def has(self, format_: str, pmid: str | None) -> bool:
        """Whether a copy of this PMID in this format was seen."""
        return _pmid_key(pmid) in self._slots.get(format_, {})

    def first(self, raw: RawRecord, place: Place) -> tuple[str, str] | None:
        """(location, checksum) of the first copy of `raw`'s PMID in its format; None, and
        `raw` at `place` becomes that first copy, when there is none."""
        slots = self._slots.setdefault(raw.format, {})
        key = _pmid_key(raw.pmid)
        slot = slots.get(key)
        if slot is not None:
            before, after = self._text_list[self._text_of_slot[slot]]
            location = str(Place(before, self._number_of_slot[slot], after))
            return location, self._digests[32 * slot : 32 * (slot + 1)].hex()
        digest = bytes.fromhex(raw.checksum)
        if len(digest) != 32:
            raise ValueError(f"not a SHA-256 checksum: {raw.checksum!r}")
        slots[key] = len(self._number_of_slot)
        text = (place.before, place.after)
        if text not in self._texts:
            self._texts[text] = len(self._text_list)
            self._text_list.append(text)
        self._text_of_slot.append(self._texts[text])
        self._number_of_slot.append(place.number)
        self._digests += digest
        return None


def _pmid_key(pmid: str | None) -> int | str | None:
    """A PMID as an int when it is written as one (no sign, no leading zero), else as it is:
    the same PMID always gives the same key, and two different texts never share one."""
    if pmid and pmid.isascii() and pmid.isdigit() and pmid[0] != "0":
        return int(pmid)
    return pmid


def _first_copy_or_duplicate(
    record: SnapshotRecord, place: Place, first_seen: FirstCopies
) -> SnapshotRecord | Quarantined:
    """The record as it is the first time its PMID is seen in its format; after that, marked
    as a duplicate when identical, else quarantined. Either way a warning names both places."""
    raw = record.raw
    first = first_seen.first(raw, place)
    if first is None:
        return record
    first_location, first_checksum = first
    if raw.checksum == first_checksum:
        log.warning(
            "PMID %s appears twice in the snapshot with the same bytes, at %s and at %s; "
            "it is loaded once", raw.pmid, first_location, record.location,
        )  # fmt: skip
        return replace(record, duplicate_of=first_location)
    error = (
        f"PMID {raw.pmid} appears twice in the snapshot with different content: the copy at "
        f"{first_location} is loaded, this one at {record.location} is not"
    )
    log.warning("quarantined %s: %s", record.location, error)
    return Quarantined("load", error, raw.payload, raw.pmid, record.location)


def _iter_jsonl(
    entry: SnapshotFile, first_seen: FirstCopies
) -> Iterator[tuple[SnapshotRecord | Quarantined, Place]]:
    """Each line's record (or its quarantine) and where it is; an XML record of the same PMID
    read before supersedes its article."""
    with entry.path.open("rb") as handle:
        for line_no, line in enumerate(handle, 1):
            payload = line.rstrip(b"\r\n")
            if not payload.strip():
                continue
            place = Place(f"{entry.name} line ", line_no, "")
            location = str(place)
            try:
                article = article_from_json(json.loads(payload))
            except json.JSONDecodeError as error:
                raise SnapshotError(
                    f"the snapshot file {entry.path} is corrupt: line {line_no} is not JSON "
                    f"({error})"
                ) from None
            except RecordParseError as error:
                log.warning("quarantined %s: %s", location, error)
                yield Quarantined("parse", str(error), payload, error.pmid, location), place
                continue
            raw = RawRecord(article.pmid, payload, "json", SOURCE)
            superseded = first_seen.has("xml", article.pmid)
            yield SnapshotRecord(raw, None if superseded else article, entry.query, location), place


def iter_searches(snapshot: Snapshot) -> Iterator[SnapshotSearch]:
    """The recorded esearch responses of a snapshot (a recorded live run has them)."""
    for entry in snapshot.files:
        if entry.kind == "esearch_xml":
            yield SnapshotSearch(entry.query, tuple(_esearch_ids(entry.path)), entry.name)


# --- writing --------------------------------------------------------------------------------


def _described(entry: SnapshotFile) -> SnapshotFile:
    """The entry with its checksum and record count computed from the file."""
    checked = _validated(
        SnapshotFile(entry.path, entry.kind, None, None, entry.query, entry.origin)
    )
    return SnapshotFile(
        entry.path, entry.kind, checked.records, file_sha256(entry.path), entry.query, entry.origin
    )


def write_manifest(
    directory: Path,
    files: list[SnapshotFile],
    *,
    snapshot_date: date | None,
    description: str,
    query: str | None = None,
    extra: dict | None = None,
) -> Path:
    """Write manifest.json for `files` (paths inside `directory`), computing counts and sums.

    The file is replaced atomically, so a reader never sees half a manifest.
    """
    entries = []
    for f in files:
        if f.sha256 is None or (f.records is None and f.kind != "doc"):
            f = _described(f)
        entry = {
            "path": f.path.relative_to(directory).as_posix(),
            "kind": f.kind,
            "records": f.records,
            "bytes": f.path.stat().st_size,
            "sha256": f.sha256,
        }
        if f.query is not None and f.query != query:
            entry["query"] = f.query
        if f.origin:
            entry["origin"] = f.origin
        entries.append(entry)
    manifest = {
        "format": MANIFEST_FORMAT,
        "snapshot_date": snapshot_date.isoformat() if snapshot_date else None,
        "description": description,
        "query": query,
        **(extra or {}),
        "files": entries,
    }
    target = directory / MANIFEST_NAME
    temporary = directory / (MANIFEST_NAME + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(target)
    return target


@dataclass
class SnapshotRecorder:
    """Saves a live run's raw esearch and efetch responses as a snapshot directory.

    Each response is written as it arrives and the manifest rewritten after it, so even an
    interrupted run leaves a snapshot that replays what it received.
    """

    directory: Path
    query: str | None = None
    since: date | None = None
    files: list[SnapshotFile] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SnapshotError(
                f"cannot create the snapshot directory {self.directory}: {error}"
            ) from None
        if (self.directory / MANIFEST_NAME).exists():
            raise SnapshotError(
                f"{self.directory} already holds a snapshot; record into a new directory"
            )

    def save_esearch(self, body: bytes, description: str) -> Path:
        """Keep one esearch response (its ids become sightings on replay)."""
        return self._save("esearch", ".xml", "esearch_xml", body, description)

    def save_efetch(self, body: bytes, description: str) -> Path:
        """Keep one validated efetch response (a PubmedArticleSet)."""
        return self._save("efetch", ".xml", "pubmed_xml", body, description)

    def _save(self, stem: str, suffix: str, kind: str, body: bytes, description: str) -> Path:
        path = self.directory / f"{stem}-{len(self.files) + 1:05d}{suffix}"
        path.write_bytes(body)
        self.files.append(
            _described(SnapshotFile(path, kind, query=self.query, origin=description))
        )
        self._write_manifest()
        return path

    def _write_manifest(self) -> None:
        write_manifest(
            self.directory,
            self.files,
            snapshot_date=self.started_at.date(),
            description="responses recorded from a live PubMed run started "
            f"{self.started_at:%Y-%m-%d %H:%M} UTC",
            query=self.query,
            extra={"since": self.since.isoformat() if self.since else None},
        )
