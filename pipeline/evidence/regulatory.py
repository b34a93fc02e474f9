"""The regulatory facts bundled with the package (pipeline/data/regulatory/facts.toml): each with
the source's wording, the date it took effect, its source and the date it was last checked."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources

from pipeline.errors import PipelineError

FACTS_NAME = "facts.toml"
STALE_AFTER_DAYS = 365
REQUIRED = ("id", "topic", "drug", "wording", "plain", "effective", "source", "source_kind",
            "url", "source_version", "last_checked")  # fmt: skip
SOURCE_KINDS = ("agency", "label", "secondary")


@dataclass(frozen=True)
class Fact:
    """One regulatory fact with its source."""

    id: str
    topic: str
    drug: str
    wording: str
    plain: str
    effective: date
    source: str
    source_kind: str
    url: str
    source_version: str
    last_checked: date
    route: str = ""
    indication: str = ""
    use: str = ""
    hours: int | None = None
    risks: tuple[str, ...] = field(default_factory=tuple)

    def citation(self) -> str:
        """Where the fact was read, with its version and the date it was last checked."""
        where = f"{self.source} ({self.source_version}"
        where += f"; {self.url}" if self.url else "; no URL recorded"
        return f"{where}; last checked {self.last_checked.isoformat()})"

    def is_stale(self, today: date) -> bool:
        """More than a year since someone last checked it."""
        return (today - self.last_checked).days > STALE_AFTER_DAYS


def facts_text() -> str:
    """The facts file as bundled."""
    return (resources.files("pipeline") / "data" / "regulatory" / FACTS_NAME).read_text("utf-8")


def load_facts(text: str | None = None) -> list[Fact]:
    """The facts in file order; a missing field or a wrong type raises PipelineError."""
    where = f"pipeline/data/regulatory/{FACTS_NAME}"
    try:
        data = tomllib.loads(facts_text() if text is None else text)
    except tomllib.TOMLDecodeError as error:
        raise PipelineError(f"{where} is not valid TOML: {error}") from None
    facts = []
    for number, entry in enumerate(data.get("fact", []), start=1):
        name = entry.get("id", f"fact {number}")
        missing = [key for key in REQUIRED if key not in entry]
        if missing:
            raise PipelineError(f"{where}: {name} lacks {', '.join(missing)}")
        for key in ("effective", "last_checked"):
            if not isinstance(entry[key], date):
                raise PipelineError(f"{where}: {name} has {key} that is not a date (YYYY-MM-DD)")
        if entry["source_kind"] not in SOURCE_KINDS:
            raise PipelineError(f"{where}: {name} has source_kind {entry['source_kind']!r}, "
                                f"not one of {', '.join(SOURCE_KINDS)}")  # fmt: skip
        entry = dict(entry)
        entry["risks"] = tuple(entry.get("risks", ()))
        try:
            facts.append(Fact(**entry))
        except TypeError as error:
            raise PipelineError(f"{where}: {name} has an unknown field ({error})") from None
    if not facts:
        raise PipelineError(f"{where} holds no [[fact]]")
    return facts


def stale(facts: list[Fact], today: date) -> list[Fact]:
    """The facts last checked more than a year before `today`."""
    return [fact for fact in facts if fact.is_stale(today)]


def stale_notice(facts: list[Fact], today: date) -> str | None:
    """One sentence when some facts were last checked more than a year ago, else None."""
    old = stale(facts, today)
    if not old:
        return None
    oldest = min(fact.last_checked for fact in old)
    return (
        f"{len(old)} of {len(facts)} regulatory fact(s) were last checked more than a year ago "
        f"(the oldest on {oldest.isoformat()}): check them against the current label before use."
    )


def last_checked(facts: list[Fact]) -> date:
    """The oldest 'last checked' date among the facts (what a reader must trust)."""
    return min(fact.last_checked for fact in facts)
