"""Score the extractor against hand annotations: precision and recall per effect kind,
agreement on each matched effect's arm, timepoint and scale, and accuracy of the trial facts.

An extracted effect matches an annotated one when the PMID and kind are equal (the standardised
kinds smd, cohens_d and hedges_g count as one: each is a standardised mean difference), the values
differ by at most 1e-6, and both CI bounds are equal (both null, or within 1e-6); each
annotation matches at most one extraction. For matched effects whose annotation names an arm
(timepoint, scale), the extracted one agrees, is wrong, or is missing (null): a wrong arm
is worse than a missing one, so the two are counted apart. The scorer is handed the records:
callers (tests, the benchmark) pass the directory holding the PubMed records.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import vocab
from pipeline.errors import PipelineError
from pipeline.extract import ExtractionResult, effect_to_json, extract_text

TOLERANCE = 1e-6
JSONL_SOURCES = ("landmark.jsonl", "search_sample_a.jsonl", "search_sample_b.jsonl")
XML_SOURCES = ("efetch_sample.xml",)


@dataclass(frozen=True)
class SourceRecord:
    """An abstract as the warehouse stores it, with what the classifier may use."""

    pmid: str
    title: str
    abstract: str
    publication_types: tuple[str, ...] = ()
    mesh: tuple[str, ...] = ()


@dataclass
class Counts:
    """True positives, false positives and false negatives of one kind (or all kinds)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Share of extracted effects that match an annotation (1.0 when none were extracted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of annotated effects that were extracted (1.0 when none were annotated)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Agreement:
    """How a matched effect's descriptive field compares with the annotation's.

    Counted over matched pairs where the annotation gives the field: `agree` (names the same
    thing), `wrong` (names something else), `missing` (extracted null). `extra` counts
    matched pairs where the extractor fills the field and the annotation leaves it null.
    """

    agree: int = 0
    wrong: int = 0
    missing: int = 0
    extra: int = 0

    @property
    def annotated(self) -> int:
        """Matched pairs whose annotation gives the field."""
        return self.agree + self.wrong + self.missing

    @property
    def agreement(self) -> float:
        """Share of those pairs where the extractor names the same thing (1.0 when none)."""
        return self.agree / self.annotated if self.annotated else 1.0

    @property
    def precision(self) -> float:
        """Share of filled fields (on annotated pairs) that agree: wrong ones count against."""
        filled = self.agree + self.wrong
        return self.agree / filled if filled else 1.0


@dataclass
class Mismatch:
    """An effect on one side only, for reading what went wrong."""

    pmid: str
    side: str  # 'missed' (annotated, not extracted) or 'extra' (extracted, not annotated)
    kind: str
    value: float
    ci_low: float | None
    ci_high: float | None
    quote: str | None


@dataclass
class Score:
    """The whole comparison: effect counts per kind, fact accuracies, and the mismatches."""

    per_kind: dict[str, Counts] = field(default_factory=dict)
    facts: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (correct, total)
    attributes: dict[str, Agreement] = field(default_factory=dict)  # arm, timepoint, scale
    mismatches: list[Mismatch] = field(default_factory=list)
    attribute_mismatches: list[tuple[str, str, str | None, str | None, str | None]] = field(
        default_factory=list
    )  # (pmid, field, extracted, annotated, quote) for wrong or missing fields
    n_records: int = 0

    @property
    def overall(self) -> Counts:
        """Counts summed over every kind."""
        total = Counts()
        for counts in self.per_kind.values():
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
        return total

    def accuracy(self, name: str) -> float:
        """Share of records where the fact agrees (1.0 when none were compared)."""
        correct, total = self.facts.get(name, (0, 0))
        return correct / total if total else 1.0

    def table(self) -> str:
        """A plain-text table of precision and recall per kind and of the fact accuracies."""
        lines = [
            f"{self.n_records} annotated abstracts",
            "",
            f"{'effect kind':<18}{'annot.':>7}{'extr.':>7}{'match':>7}{'precision':>11}"
            f"{'recall':>8}",
        ]
        for kind in sorted(self.per_kind):
            c = self.per_kind[kind]
            lines.append(
                f"{kind:<18}{c.tp + c.fn:>7}{c.tp + c.fp:>7}{c.tp:>7}{c.precision:>11.3f}"
                f"{c.recall:>8.3f}"
            )
        c = self.overall
        lines.append(
            f"{'overall':<18}{c.tp + c.fn:>7}{c.tp + c.fp:>7}{c.tp:>7}{c.precision:>11.3f}"
            f"{c.recall:>8.3f}"
        )
        lines += [
            "",
            f"{'matched effects':<18}{'annot.':>7}{'agree':>7}{'wrong':>7}{'null':>7}"
            f"{'agreement':>11}{'precision':>11}{'extra':>7}",
        ]
        for name, a in self.attributes.items():
            lines.append(
                f"{name:<18}{a.annotated:>7}{a.agree:>7}{a.wrong:>7}{a.missing:>7}"
                f"{a.agreement:>11.3f}{a.precision:>11.3f}{a.extra:>7}"
            )
        lines += ["", f"{'trial fact':<18}{'correct':>9}{'of':>5}{'accuracy':>10}"]
        for name, (correct, total) in self.facts.items():
            accuracy = correct / total if total else 1.0
            lines.append(f"{name:<18}{correct:>9}{total:>5}{accuracy:>10.3f}")
        return "\n".join(lines)


# --- loading ----------------------------------------------------------------------------------


def load_annotations(path: str | Path) -> list[dict]:
    """The annotated records, one JSON object per line; a bad line raises naming file and line."""
    path = Path(path)
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise PipelineError(f"cannot read the annotations {path}: {error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise PipelineError(f"{path}, line {number}: not JSON ({error})") from None
        if not isinstance(record, dict) or not record.get("pmid"):
            raise PipelineError(f"{path}, line {number}: an annotation needs a 'pmid'")
        records.append(record)
    return records


def load_source_records(
    pubmed_dir: str | Path, extra_jsonl: Iterable[str | Path] = ()
) -> dict[str, SourceRecord]:
    """Every record with a PMID in the given PubMed files, by PMID (XML parsed as ingest does).

    `pubmed_dir` holds the snapshot's files by their names; `extra_jsonl` adds JSON-lines files of
    the same record format from elsewhere (the record pool).
    """
    folder = Path(pubmed_dir)
    records: dict[str, SourceRecord] = {}
    paths = [folder / name for name in JSONL_SOURCES] + [Path(path) for path in extra_jsonl]
    for path in paths:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("pmid"):
                continue
            records[str(row["pmid"])] = SourceRecord(
                pmid=str(row["pmid"]),
                title=row.get("title") or "",
                abstract=row.get("abstract") or "",
                publication_types=tuple(row.get("pubtypes") or ()),
            )
    for name in XML_SOURCES:
        path = folder / name
        if not path.is_file():
            continue
        from pipeline.parse import parse_pubmed_xml

        for parsed in parse_pubmed_xml(path.read_bytes(), "snapshot", origin=name):
            article = getattr(parsed, "article", None)
            if article is None or article.pmid in records:
                continue
            records[article.pmid] = SourceRecord(
                pmid=article.pmid,
                title=article.title,
                abstract=article.abstract,
                publication_types=tuple(article.publication_types),
                mesh=tuple(m.descriptor for m in article.mesh),
            )
    return records


# --- matching ---------------------------------------------------------------------------------


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)


def kinds_match(extracted: str | None, annotated: str | None) -> bool:
    """The same kind, or two names of a standardised mean difference ("Hedges' g" read as
    hedges_g where the annotation guide says smd)."""
    return extracted == annotated or (extracted in vocab.SMD_KINDS and annotated in vocab.SMD_KINDS)


def effects_match(extracted: dict, annotated: dict) -> bool:
    """Same kind, same value and same CI bounds (the contract's match rule)."""
    return (
        kinds_match(extracted.get("kind"), annotated.get("kind"))
        and _close(extracted.get("value"), annotated.get("value"))
        and _close(extracted.get("ci_low"), annotated.get("ci_low"))
        and _close(extracted.get("ci_high"), annotated.get("ci_high"))
    )


def match_effects(extracted: list[dict], annotated: list[dict]) -> list[tuple[int, int]]:
    """Pairs (extracted index, annotated index); each side used at most once, in text order."""
    used: set[int] = set()
    pairs = []
    for i, effect in enumerate(extracted):
        for j, gold in enumerate(annotated):
            if j not in used and effects_match(effect, gold):
                used.add(j)
                pairs.append((i, j))
                break
    return pairs


_DOSE_RE = re.compile(r"(?<![\d.])\d*\.?\d+[\s-]?(?:mg/kg|mg)\b")
_ARM_SYNONYMS = vocab.ARM_SYNONYMS
_ARM_NOISE = frozenset(
    [
        "the", "a", "an", "group", "groups", "arm", "arms", "patients", "participants",
        "treated", "assigned", "receiving", "with", "plus", "and", "or", "of", "in", "for", "to",
        "ns", "nasal", "spray", "therapy", "mg", "kg", "dose", "doses",
    ]
)  # fmt: skip
_SIDES_RE = re.compile(r"\s(?:vs\.?|versus|v\.|compared (?:with|to))\s")


def normalise_arm(arm: str | None) -> tuple[frozenset[str], ...]:
    """An arm as comparable word sets, one per side of "A vs B": lower case, synonyms folded
    (ESK, PBO, AD), plurals folded ("benzodiazepines" = "benzodiazepine"), joining and group
    words dropped; a dose keeps its number ("56", ".20" and "0.2" alike)."""
    if not arm:
        return ()
    sides = []
    for side in _SIDES_RE.split(f" {arm.lower()} "):
        words = set()
        for dose in _DOSE_RE.findall(side):
            words.add(format(float(re.sub(r"[^\d.]", "", dose)), "g"))  # ".20" = "0.2"
        side = _DOSE_RE.sub(" ", side)
        # "non-benzodiazepine" stays one word: it names the other arm, not this one
        for word in re.split(r"[^\w.-]+|(?<=\w)(?<!\bnon)[-/+](?=\w)", side):
            word = word.strip(".-")
            word = _ARM_SYNONYMS.get(word, word)
            word = _singular(word)
            if word and word not in _ARM_NOISE:
                words.add(word)
        if words:
            sides.append(frozenset(words))
    return tuple(sides)


def _singular(word: str) -> str:
    """A word without its plural "s" ("SSRIs" -> "ssri"); words in "ss" and short words are
    kept as written ("less", "ms"). Both sides are folded alike."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def arms_agree(extracted: str | None, annotated: str | None) -> bool:
    """Whether two arm strings name the same group (or the same comparison, side by side).

    Each side agrees when one side's words contain the other's: "esketamine" names the arm
    "esketamine 84 mg", but "esketamine 56 mg" does not.
    """
    a, b = normalise_arm(extracted), normalise_arm(annotated)
    if not a or len(a) != len(b):
        return False
    return all(x <= y or y <= x for x, y in zip(a, b, strict=True))


def _normalise_text(text: str | None) -> str:
    text = re.sub(r"[^\w]+", " ", (text or "").lower())
    text = re.sub(r"\b(?:hours?|hrs?)\b", "h", text)
    text = re.sub(r"\b(?:days?)\b", "day", text)
    text = re.sub(r"\b(?:weeks?|wk)\b", "week", text)
    text = re.sub(r"\b(?:minutes?|min)\b", "min", text)
    text = re.sub(r"(\d)\s+(h|min)\b", r"\1\2", text)
    return " ".join(text.split())


def timepoints_agree(extracted: str | None, annotated: str | None) -> bool:
    """Same timepoint, ignoring case, plurals and unit spellings ("24 hours" = "24 h"); one
    may say more than the other ("day 28" agrees with "day 28 endpoint")."""
    a, b = _normalise_text(extracted), _normalise_text(annotated)
    if not a or not b:
        return False
    # One inside the other as whole words: "day 28" in "day 28 endpoint", not "week 4" in "week 48"
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def scales_agree(extracted: str | None, annotated: str | None) -> bool:
    """Same scale family, ignoring case and punctuation ("HAM-D" = "HAMD")."""
    a = re.sub(r"[^a-z0-9]", "", (extracted or "").lower())
    b = re.sub(r"[^a-z0-9]", "", (annotated or "").lower())
    return bool(a) and (a == b or a.startswith(b) or b.startswith(a))


ATTRIBUTE_RULES = {"arm": arms_agree, "timepoint": timepoints_agree, "scale": scales_agree}


def _same_set(a: Iterable | None, b: Iterable | None) -> bool:
    return set(a or ()) == set(b or ())


def _arm_sizes(arms: Iterable[dict] | None) -> list[int]:
    return sorted(int(arm["n"]) for arm in arms or () if arm.get("n") is not None)


def score(annotations: list[dict], records: dict[str, SourceRecord]) -> Score:
    """Run the extractor on every annotated abstract and compare (see the module docstring).

    Facts: design by equality, drug and route as sets, over every record; n_randomized over
    records where the annotation or the extractor gives one; arm sizes (the sorted n's) over
    records where either side lists arms; dose (its numbers) where either side gives one;
    dose_exact over every dose extracted (the trial's and each arm's): written whole, digits as
    in the words it comes from.
    """
    result = Score()
    fact_counts: dict[str, list[int]] = {
        name: [0, 0]
        for name in ("design", "drug", "route", "n_randomized", "arm_sizes", "dose", "dose_exact")
    }
    per_kind: dict[str, Counts] = {}
    attributes = {name: Agreement() for name in ATTRIBUTE_RULES}
    for annotation in annotations:
        pmid = str(annotation["pmid"])
        record = records.get(pmid)
        if record is None:
            raise PipelineError(f"annotated PMID {pmid} is not in the PubMed records given")
        extraction = extract_record(record)
        extracted = [effect_to_json(e) for e in extraction.effects]
        gold = annotation.get("effects") or []
        pairs = match_effects(extracted, gold)
        matched_extracted = {i for i, _ in pairs}
        matched_gold = {j for _, j in pairs}
        for i, j in pairs:
            per_kind.setdefault(gold[j]["kind"], Counts()).tp += 1  # under the annotated kind
            for name, agree in ATTRIBUTE_RULES.items():
                got, want = extracted[i].get(name), gold[j].get(name)
                _tally_attribute(attributes[name], agree, got, want)
                if want and not (got and agree(got, want)):
                    result.attribute_mismatches.append(
                        (pmid, name, got, want, gold[j].get("quote"))
                    )
        for i, effect in enumerate(extracted):
            if i not in matched_extracted:
                per_kind.setdefault(effect["kind"], Counts()).fp += 1
                result.mismatches.append(_mismatch(pmid, "extra", effect))
        for j, effect in enumerate(gold):
            if j not in matched_gold:
                per_kind.setdefault(effect["kind"], Counts()).fn += 1
                result.mismatches.append(_mismatch(pmid, "missed", effect))
        trial, gold_trial = extraction.trial.to_dict(), annotation.get("trial") or {}
        _tally(fact_counts["design"], trial["design"] == gold_trial.get("design"))
        _tally(fact_counts["drug"], _same_set(trial["drug"], gold_trial.get("drug")))
        _tally(fact_counts["route"], _same_set(trial["route"], gold_trial.get("route")))
        if trial["n_randomized"] is not None or gold_trial.get("n_randomized") is not None:
            _tally(
                fact_counts["n_randomized"], trial["n_randomized"] == gold_trial.get("n_randomized")
            )
        exact, doses = _doses_exact(extraction, record.abstract)
        fact_counts["dose_exact"][0] += exact
        fact_counts["dose_exact"][1] += doses
        if trial["dose"] is not None or gold_trial.get("dose") is not None:
            _tally(
                fact_counts["dose"],
                _dose_numbers(trial["dose"]) == _dose_numbers(gold_trial.get("dose")),
            )
        if trial["arms"] or gold_trial.get("arms"):
            _tally(
                fact_counts["arm_sizes"],
                _arm_sizes(trial["arms"]) == _arm_sizes(gold_trial.get("arms")),
            )
        result.n_records += 1
    result.per_kind = per_kind
    result.attributes = attributes
    result.facts = {name: (c[0], c[1]) for name, c in fact_counts.items()}
    return result


_DOSE_NUMBER_RE = re.compile(r"(?<![\d.])(?:\d+(?:\.\d+)?|\.\d+)(?=\s?(?:-|–|to|or|and|,|/|mg))")


def _dose_numbers(words: str | None) -> list[float] | None:
    """The numbers of a dose as written ("56 or 84 mg" -> [56, 84], ".5 mg/kg" -> [0.5])."""
    if words is None:
        return None
    return sorted(float(n) for n in _DOSE_NUMBER_RE.findall(words))


def _written_at_a_boundary(words: str, text: str) -> bool:
    """Whether `words` occur in `text` whole: not right after a digit or a point ("5 mg" is not
    written in "0.5 mg")."""
    at = text.find(words)
    while at >= 0:
        if at == 0 or not (text[at - 1].isdigit() or text[at - 1] in ".,"):
            return True
        at = text.find(words, at + 1)
    return False


def _doses_exact(extraction: ExtractionResult, abstract: str) -> tuple[int, int]:
    """(exact, checked) doses of one abstract: the trial's dose is written whole in the abstract,
    and each arm's dose words are written whole in its label with the same number as its value."""
    exact = checked = 0
    if extraction.trial.dose is not None:
        checked += 1
        exact += _written_at_a_boundary(extraction.trial.dose, abstract)
    for arm in extraction.arms:
        if arm.dose is None:
            continue
        checked += 1
        words = arm.dose_text or ""
        numbers = _dose_numbers(words) or []
        exact += _written_at_a_boundary(words, arm.label) and numbers == [arm.dose]
    return exact, checked


def extract_record(record: SourceRecord) -> ExtractionResult:
    """The extractor run on one source record, as the warehouse stage runs it."""
    return extract_text(
        record.pmid,
        record.title,
        record.abstract,
        publication_types=record.publication_types,
        mesh=record.mesh,
    )


def _tally_attribute(counts: Agreement, agree, got: str | None, want: str | None) -> None:
    if not want:
        counts.extra += int(bool(got))
    elif not got:
        counts.missing += 1
    elif agree(got, want):
        counts.agree += 1
    else:
        counts.wrong += 1


def _tally(counts: list[int], correct: bool) -> None:
    counts[0] += int(correct)
    counts[1] += 1


def _mismatch(pmid: str, side: str, effect: dict) -> Mismatch:
    return Mismatch(
        pmid=pmid,
        side=side,
        kind=effect.get("kind"),
        value=effect.get("value"),
        ci_low=effect.get("ci_low"),
        ci_high=effect.get("ci_high"),
        quote=effect.get("quote"),
    )


def kinds_summary(annotations: list[dict]) -> Counter:
    """How many annotated effects of each kind (for reports)."""
    return Counter(e["kind"] for a in annotations for e in a.get("effects") or [])
