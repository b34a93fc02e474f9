"""Snapshots: the bundled one, damaged ones, single files, and recording a live run."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.models import Quarantined, RawRecord
from pipeline.sources.snapshot import (
    MANIFEST_NAME,
    FirstCopies,
    Place,
    SnapshotError,
    SnapshotRecord,
    SnapshotRecorder,
    bundled_snapshot_dir,
    file_sha256,
    iter_searches,
    iter_snapshot,
    open_snapshot,
)

COPIED = (
    "landmark.jsonl",
    "search_sample_a.jsonl",
    "search_sample_b.jsonl",
    "efetch_sample.xml",
    "SOURCES.md",
)


@pytest.fixture
def snapshot_copy(tmp_path):
    target = tmp_path / "snapshot"
    shutil.copytree(bundled_snapshot_dir(), target)
    return target


# SHA-256 of the real PubMed files as they were handed over (shared/data/pubmed, read 2026-12-07);
# the bundled copies must stay byte-identical to them.
HANDED_OVER_SHA256 = {
    "efetch_sample.xml": "3ee17159606a5aad4eb350d8bb8d50f8b3b23124a8b5b3fd92768b5ef29cd874",
    "landmark.jsonl": "2784011ace88caac91571444054de2539b4f0ca162929d33fb43b3359f6402e6",
    "search_sample_a.jsonl": "742ff847744bbe6be6ece4b5eb66d961968c949f572c93c18f258c248cff1b3d",
    "search_sample_b.jsonl": "903ab69819fbc090424f56e449358dda0a5bc7c2b89f573068957ef799639034",
    "SOURCES.md": "c4a3d87036510712a65dccf74fe5f8645ccbf20521fb3078ab2208e395b6bbf8",
}


def test_bundled_files_are_exact_copies_of_the_handed_over_records():
    assert set(HANDED_OVER_SHA256) == set(COPIED)
    for name in HANDED_OVER_SHA256:
        assert file_sha256(bundled_snapshot_dir() / name) == HANDED_OVER_SHA256[name]


def test_bundled_snapshot_manifest():
    snapshot = open_snapshot(bundled_snapshot_dir())
    assert snapshot.snapshot_date.isoformat() == "2026-09-15"
    assert snapshot.record_count == 3 + 18 + 55 + 55
    manifest = json.loads((bundled_snapshot_dir() / MANIFEST_NAME).read_text("utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(COPIED)
    assert listed["efetch_sample.xml"]["kind"] == "pubmed_xml"
    assert listed["landmark.jsonl"]["records"] == 18
    assert listed["SOURCES.md"]["kind"] == "doc"
    for name in HANDED_OVER_SHA256:
        assert listed[name]["sha256"] == HANDED_OVER_SHA256[name]


def test_bundled_snapshot_records():
    items = list(iter_snapshot(open_snapshot(bundled_snapshot_dir())))
    records = [i for i in items if isinstance(i, SnapshotRecord)]
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert len(records) == 130
    articles = {r.raw.pmid: r for r in records if r.article is not None}
    assert len(articles) == 127
    (bad,) = quarantined
    assert bad.pmid is None and bad.location == "landmark.jsonl line 18"
    assert b"10.1176/appi.ajp.2017.17060647" in bad.payload


def test_xml_wins_over_json_and_both_raw_versions_are_kept():
    items = [i for i in iter_snapshot(open_snapshot(bundled_snapshot_dir())) if hasattr(i, "raw")]
    versions = [i for i in items if i.raw.pmid == "31166571"]
    assert [(v.raw.format, v.article is not None) for v in versions] == [
        ("xml", True),
        ("json", False),
    ]
    assert versions[0].article.mesh  # the richer record: MeSH only comes with XML


def test_json_raw_payload_is_the_line_exactly():
    lines = (bundled_snapshot_dir() / "search_sample_a.jsonl").read_bytes().splitlines()
    items = [
        i
        for i in iter_snapshot(open_snapshot(bundled_snapshot_dir()))
        if isinstance(i, SnapshotRecord) and i.location.startswith("search_sample_a.jsonl")
    ]
    assert [i.raw.payload for i in items] == lines
    assert items[0].location == "search_sample_a.jsonl line 1"


def test_a_changed_file_is_refused_by_name(snapshot_copy):
    path = snapshot_copy / "landmark.jsonl"
    path.write_bytes(path.read_bytes().replace(b"Esketamine", b"Esketamin", 1))
    with pytest.raises(SnapshotError, match="landmark.jsonl is corrupt: its SHA-256"):
        open_snapshot(snapshot_copy)


def test_a_missing_file_is_named(snapshot_copy):
    (snapshot_copy / "efetch_sample.xml").unlink()
    with pytest.raises(SnapshotError, match=r"efetch_sample.xml is missing"):
        open_snapshot(snapshot_copy)


def test_a_missing_snapshot_and_a_missing_manifest(tmp_path):
    with pytest.raises(SnapshotError, match="does not exist"):
        open_snapshot(tmp_path / "nowhere")
    with pytest.raises(SnapshotError, match="has no manifest.json"):
        open_snapshot(tmp_path)


def test_a_corrupt_manifest(snapshot_copy):
    (snapshot_copy / MANIFEST_NAME).write_text("{not json", "utf-8")
    with pytest.raises(SnapshotError, match="manifest.*is corrupt"):
        open_snapshot(snapshot_copy)


def test_single_jsonl_file(pubmed_records):
    snapshot = open_snapshot(pubmed_records / "search_sample_b.jsonl")
    assert snapshot.record_count == 55 and snapshot.snapshot_date is None
    assert sum(1 for _ in iter_snapshot(snapshot)) == 55


def test_single_xml_file(pubmed_records):
    items = list(iter_snapshot(open_snapshot(pubmed_records / "efetch_sample.xml")))
    assert [i.raw.pmid for i in items] == ["31166571", "31290965", "32316080"]
    assert all(i.raw.source == "snapshot" and i.raw.format == "xml" for i in items)


def test_a_truncated_xml_file_is_named(pubmed_records, tmp_path):
    path = tmp_path / "cut.xml"
    path.write_bytes((pubmed_records / "efetch_sample.xml").read_bytes()[:40000])
    with pytest.raises(SnapshotError, match=r"cut.xml is corrupt.*ended inside record 2"):
        open_snapshot(path)


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"pmid": "1", "title": "A"}\n{"pmid": \n')
    with pytest.raises(SnapshotError, match=r"bad.jsonl is corrupt: line 2 is not JSON"):
        open_snapshot(path)


def test_another_file_type_is_refused(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("pmid\n1\n")
    with pytest.raises(SnapshotError, match="neither .xml"):
        open_snapshot(path)


def test_recorder_writes_a_snapshot_that_replays(pubmed_records, tmp_path):
    recorder = SnapshotRecorder(tmp_path / "rec", query="ketamine", since=None)
    esearch = (
        b"<eSearchResult><Count>3</Count><IdList><Id>31166571</Id><Id>31290965</Id>"
        b"<Id>32316080</Id></IdList></eSearchResult>"
    )
    recorder.save_esearch(esearch, "esearch 'ketamine' retstart 0")
    recorder.save_efetch((pubmed_records / "efetch_sample.xml").read_bytes(), "efetch of 3")
    snapshot = open_snapshot(tmp_path / "rec")
    assert snapshot.query == "ketamine" and snapshot.record_count == 3
    (search,) = iter_searches(snapshot)
    assert search.pmids == ("31166571", "31290965", "32316080")
    replayed = list(iter_snapshot(snapshot))
    assert [r.raw.payload for r in replayed] == [
        r.raw.payload for r in iter_snapshot(open_snapshot(pubmed_records / "efetch_sample.xml"))
    ]
    with pytest.raises(SnapshotError, match="already holds a snapshot"):
        SnapshotRecorder(tmp_path / "rec")


def test_the_first_copies_give_back_the_location_and_checksum_of_the_first_copy():
    first_seen = FirstCopies()
    one = RawRecord("31166571", b"<PubmedArticle/>", "xml", "snapshot")
    assert first_seen.first(one, Place("record ", 7, " of a.xml")) is None
    again = RawRecord("31166571", b"<PubmedArticle>other</PubmedArticle>", "xml", "snapshot")
    assert first_seen.first(again, Place("record ", 9, " of b.xml")) == (
        "record 7 of a.xml",
        one.checksum,
    )
    assert first_seen.has("xml", "31166571") and not first_seen.has("json", "31166571")


def test_pmids_written_differently_are_different_copies():
    """A leading zero or a non-numeric PMID is kept as text: never the same key as a number."""
    first_seen = FirstCopies()
    for line, pmid in enumerate(["123", "0123", "PMC123", None], 1):
        raw = RawRecord(pmid, pmid.encode() if pmid else b"", "json", "snapshot")
        assert first_seen.first(raw, Place("s.jsonl line ", line, "")) is None
    raw = RawRecord("0123", b"0123", "json", "snapshot")
    assert first_seen.first(raw, Place("s.jsonl line ", 9, "")) == ("s.jsonl line 2", raw.checksum)
