"""Plain dataclasses the stages pass to each other (and to the warehouse loader).

An `Article` is one PubMed record, parsed: whatever the record lacks stays None or empty.
The abstract is one string laid out as PubMed displays it: each structured section written
as `LABEL: text`, sections joined by single spaces. Every character offset in the warehouse
(effect spans, section spans) indexes into that string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property


@dataclass(frozen=True)
class AbstractSection:
    """One `AbstractText` element: its label, NLM category, order and span in the abstract."""

    order: int
    label: str | None
    nlm_category: str | None
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Author:
    """An author or a collective (group) name, in the order the record lists them."""

    position: int
    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None
    affiliations: tuple[str, ...] = ()
    orcid: str | None = None


@dataclass(frozen=True)
class MeshHeading:
    """A MeSH descriptor with its qualifiers; `qualifiers` holds (name, ui, major_topic)."""

    position: int
    descriptor: str
    descriptor_ui: str | None
    major_topic: bool
    qualifiers: tuple[tuple[str, str | None, bool], ...] = ()


@dataclass(frozen=True)
class Chemical:
    """A substance from the ChemicalList."""

    name: str
    ui: str | None = None
    registry_number: str | None = None


@dataclass(frozen=True)
class TrialId:
    """A trial registry id: `source` is 'databank' (AccessionNumber), 'text' or 'snapshot'."""

    registry: str
    accession: str
    source: str


@dataclass(frozen=True)
class CommentCorrection:
    """A CommentsCorrections link, e.g. ('ErratumIn', '12345678', 'JAMA. 2020;...')."""

    ref_type: str
    ref_pmid: str | None
    ref_source: str | None


@dataclass
class Article:
    """One PubMed record, parsed; stage outputs refer to it by PMID."""

    pmid: str
    title: str
    abstract: str = ""
    sections: list[AbstractSection] = field(default_factory=list)
    journal_title: str | None = None
    journal_iso: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_date: str | None = None  # as written: "2019 Jul 1", "2019 Jul-Aug", "2018 Winter"
    pub_year: int | None = None
    doi: str | None = None
    pmcid: str | None = None
    languages: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    mesh: list[MeshHeading] = field(default_factory=list)
    chemicals: list[Chemical] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    trial_ids: list[TrialId] = field(default_factory=list)
    comments_corrections: list[CommentCorrection] = field(default_factory=list)
    date_revised: date | None = None
    abstract_complete: bool | None = None  # False where a snapshot says its abstract was cut off

    @property
    def is_retracted(self) -> bool:
        """The record has a retraction notice attached (or is one)."""
        retraction_links = ("RetractionIn", "RetractionOf")
        return "Retracted Publication" in self.publication_types or any(
            c.ref_type in retraction_links for c in self.comments_corrections
        )

    @property
    def has_erratum(self) -> bool:
        """An erratum has been published for this record."""
        return any(c.ref_type == "ErratumIn" for c in self.comments_corrections)


@dataclass(frozen=True)
class RawRecord:
    """A record exactly as received, before parsing: `format` is 'xml' or 'json'."""

    pmid: str | None
    payload: bytes
    format: str
    source: str  # 'live' or 'snapshot'

    @cached_property
    def checksum(self) -> str:
        """SHA-256 of the payload, hex (worked out once: a snapshot ingest asks four times)."""
        return hashlib.sha256(self.payload).hexdigest()


@dataclass(frozen=True)
class Quarantined:
    """A record or batch that failed a stage: kept with its error and raw bytes, never dropped."""

    stage: str  # 'fetch', 'parse', 'load', 'extract'
    error: str
    payload: bytes
    pmid: str | None = None
    location: str | None = None  # file name and line, or batch description
