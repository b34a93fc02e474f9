"""The review state machine, re-review after re-extraction, and the terminal walk-through."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from pipeline import vocab, warehouse
from pipeline.cli import main
from pipeline.errors import PipelineError, UsageError
from pipeline.evidence import review
from pipeline.extract import store
from pipeline.models import RawRecord
from pipeline.parse import ParsedRecord, article_from_json, parse_pubmed_xml

REPO = Path(__file__).resolve().parent.parent
ANNOTATIONS = REPO / "tests" / "data" / "extraction" / "annotations.jsonl"
SUSTAIN_1 = "31166571"
HR_QUOTE = "hazard ratio [HR], 0.49; 95% CI, 0.29-0.84"


def effect_rows(pmid: str, extractor_version: str = "1") -> list[dict]:
    """The hand-annotated effects of one trial, as core.effects rows."""
    for line in ANNOTATIONS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["pmid"] == pmid:
            return [
                {**e, "pmid": pmid, "extractor_version": extractor_version}
                for e in record["effects"]
            ]
    raise AssertionError(f"{pmid} is not annotated")


def insert_effects(con, rows: list[dict]) -> None:
    """Insert effects into core.effects under the column names the table uses."""
    columns = warehouse.table_columns(con, "core.effects")
    names = {"start": "start_offset", "end": "end_offset"}
    abstracts = dict(con.execute("SELECT pmid, abstract FROM core.articles").fetchall())
    taken = {r[0] for r in con.execute("SELECT effect_id FROM core.effects").fetchall()}
    for row in rows:
        abstract = abstracts[row["pmid"]]
        sentence, sentence_start = review.sentence_around(abstract, row["start"], row["end"])
        identity = store.effect_id(row["pmid"], row["kind"], row["start"], row["end"])
        if identity in taken:  # one span annotated with several values ("64% and 28%")
            identity = hashlib.sha1(f"{identity}|{row['value']}|{row.get('label')}".encode())
            identity = identity.hexdigest()
        taken.add(identity)
        row = {
            **row,
            "effect_id": identity,
            "quote": abstract[row["start"] : row["end"]],
            "sentence": sentence,
            "sentence_start": sentence_start,
            "extracted_at": warehouse.now(),
        }
        values = {c: row.get(c, row.get(k)) for k, c in names.items() if c in columns}
        values.update({c: row.get(c) for c in columns if c in row and c not in values})
        placeholders = ", ".join("?" for _ in values)
        quoted = ", ".join(f'"{c}"' for c in values)
        con.execute(
            f"INSERT INTO core.effects ({quoted}) VALUES ({placeholders})", list(values.values())
        )


def load_all_articles(con, pubmed_records: Path) -> None:
    """Every real record: the efetch XML first, then the JSON-lines records it lacks."""
    parsed = [
        p
        for p in parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "snapshot")
        if isinstance(p, ParsedRecord)
    ]
    articles, raws = [p.article for p in parsed], [p.raw for p in parsed]
    seen = {a.pmid for a in articles}
    for name in ("landmark.jsonl", "search_sample_a.jsonl", "search_sample_b.jsonl"):
        for line in (pubmed_records / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if not record.get("pmid") or str(record["pmid"]) in seen:
                continue
            article = article_from_json(record)
            seen.add(article.pmid)
            articles.append(article)
            raws.append(RawRecord(article.pmid, line.encode(), "json", "snapshot"))
    warehouse.load_batch(con, articles, raws, "run-1")
    con.execute(
        "INSERT INTO core.runs (run_id, started_at, finished_at, status, mode) "
        "VALUES ('run-1', ?, ?, 'completed', 'snapshot')",
        [warehouse.now(), warehouse.now()],
    )


def build_annotated_warehouse(path: Path, pubmed_records: Path) -> Path:
    """A warehouse of the real records whose trial facts and effects are the hand annotations,
    every effect verified: what the checker sees once people have reviewed the extraction."""
    con = warehouse.connect(path)
    load_all_articles(con, pubmed_records)
    stored = {r[0] for r in con.execute("SELECT pmid FROM core.articles").fetchall()}
    now = warehouse.now()
    for line in ANNOTATIONS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["pmid"] not in stored:
            continue
        trial = record["trial"] or {}
        con.execute(
            "INSERT INTO core.trial_facts (pmid, extractor_version, article_checksum, design, "
            "drugs, routes, n_randomized, extracted_at) "
            "VALUES (?, 'annotation', '', ?, ?, ?, ?, ?)",
            [record["pmid"], trial.get("design"), trial.get("drug"), trial.get("route"),
             trial.get("n_randomized"), now],
        )  # fmt: skip
        insert_effects(con, effect_rows(record["pmid"], "annotation"))
        insert_annotated_arms(con, record["pmid"])
    ids = list(review.current_effects(con).effect_id)
    review.record_decisions(con, [review.Decision(i, review.VERIFIED) for i in ids], "Annotator")
    con.close()
    return path


def _annotated_arm_drug(label: str) -> str | None:
    """The vocabulary drug (a ketamine form, the more specific first) or comparator an
    annotated arm label names."""
    forms = sorted(vocab.DRUGS, key=lambda d: d.code == "ketamine")
    for term in (*forms, *(c for c in vocab.COMPARATORS if c.pattern)):
        if re.search(term.pattern, label, re.IGNORECASE):
            return term.code
    return None


def insert_annotated_arms(con, pmid: str) -> None:
    """core.arms rows from the hand-annotated arms of a trial's effects ("A vs B": arm A compared
    with arm B), and each effect's arm ids pointing at them: the annotation as study structure."""
    effects = con.execute(
        "SELECT effect_id, arm FROM core.effects WHERE pmid = ? AND arm IS NOT NULL", [pmid]
    ).fetchall()
    arms: dict[str, str] = {}  # label (case aside) -> arm id
    for _, words in effects:
        for label in re.split(r"\s+(?:vs\.?|versus)\s+", words.strip(), maxsplit=1):
            if label.casefold() in arms:
                continue
            arm_id = f"{pmid}:{len(arms) + 1}"
            arms[label.casefold()] = arm_id
            drug = _annotated_arm_drug(label)
            con.execute(
                "INSERT INTO core.arms (arm_id, pmid, extractor_version, position, label, role, "
                "drug, extracted_at) VALUES (?, ?, 'annotation', ?, ?, ?, ?, ?)",
                [arm_id, pmid, len(arms), label, vocab.role_of(drug, label), drug,
                 warehouse.now()],
            )  # fmt: skip
    for effect_id, words in effects:
        labels = re.split(r"\s+(?:vs\.?|versus)\s+", words.strip(), maxsplit=1)
        comparator = arms[labels[1].casefold()] if len(labels) == 2 else None
        con.execute(
            "UPDATE core.effects SET arm_id = ?, comparator_arm_id = ? WHERE effect_id = ?",
            [arms[labels[0].casefold()], comparator, effect_id],
        )


def load_articles(con, pubmed_records: Path) -> None:
    parsed = [
        p
        for p in parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "snapshot")
        if isinstance(p, ParsedRecord)
    ]
    warehouse.load_batch(con, [p.article for p in parsed], [p.raw for p in parsed], "run-1")


def sustain_1_warehouse(path: Path, pubmed_records: Path) -> Path:
    """A warehouse at `path` holding the SUSTAIN-1 record and its annotated effects, none
    reviewed."""
    con = warehouse.connect(path)
    load_articles(con, pubmed_records)
    insert_effects(con, effect_rows(SUSTAIN_1))
    con.close()
    return path


@pytest.fixture()
def db(tmp_path: Path, pubmed_records: Path) -> Path:
    return sustain_1_warehouse(tmp_path / "review.duckdb", pubmed_records)


def hr_effect(con) -> dict:
    effects = review.current_effects(con)
    return effects[effects.quote == HR_QUOTE].iloc[0].to_dict()


def test_effect_id_is_sha1_of_pmid_kind_span():
    assert store.effect_id("1", "odds_ratio", 5, 9) == hashlib.sha1(b"1|odds_ratio|5|9").hexdigest()


def test_everything_starts_unreviewed_and_nothing_is_verified(con):
    statuses = review.effect_statuses(con)
    assert len(statuses) == len(effect_rows(SUSTAIN_1))
    assert set(statuses.status) == {review.UNREVIEWED}
    assert review.verified_effects(con).empty
    assert len(review.review_queue(con)) == len(statuses)
    assert all(q in a for q, a in zip(statuses.quote, statuses.abstract, strict=True))


def test_verify_then_reject_keeps_a_log(con):
    hr = hr_effect(con)
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A", "matches the abstract")
    verified = review.verified_effects(con)
    assert list(verified.effect_id) == [hr["effect_id"]]
    row = verified.iloc[0]
    assert (row.reviewer, row.note, row.quote) == ("Dr A", "matches the abstract", HR_QUOTE)
    assert hr["effect_id"] not in set(review.review_queue(con).effect_id)

    review.record_decision(con, hr["effect_id"], review.REJECTED, "Dr B")
    assert review.verified_effects(con).empty
    statuses = review.effect_statuses(con).set_index("effect_id")
    assert statuses.loc[hr["effect_id"], "status"] == review.REJECTED
    log_rows = con.execute(
        "SELECT decision, reviewer FROM core.effect_review_log ORDER BY log_id"
    ).fetchall()
    assert log_rows == [("verified", "Dr A"), ("rejected", "Dr B")]
    summary = review.review_summary(con)
    assert summary["rejected"] == 1 and summary["verified"] == 0
    assert summary["unreviewed"] == len(effect_rows(SUSTAIN_1)) - 1


def test_reset_returns_an_effect_to_the_queue(con):
    hr = hr_effect(con)
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A")
    review.record_decision(con, hr["effect_id"], review.UNREVIEWED, "Dr A", "clicked by mistake")
    assert hr["effect_id"] in set(review.review_queue(con).effect_id)
    assert con.execute("SELECT count(*) FROM core.effect_review_log").fetchone()[0] == 2


def _reextract(con, rows: list[dict]) -> None:
    con.execute("DELETE FROM core.effects")
    insert_effects(con, rows)


def test_new_extractor_version_keeps_an_unchanged_verification(con):
    hr = hr_effect(con)
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A")
    _reextract(con, effect_rows(SUSTAIN_1, extractor_version="2"))
    verified = review.verified_effects(con)
    assert list(verified.effect_id) == [hr["effect_id"]]
    assert verified.iloc[0].reviewed_extractor_version == "1"
    assert verified.iloc[0].extractor_version == "2"


def test_changed_value_under_a_new_extractor_is_flagged_for_rereview(con):
    hr = hr_effect(con)
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A")
    rows = effect_rows(SUSTAIN_1, extractor_version="2")
    for row in rows:
        if row["quote"] == HR_QUOTE:
            row["ci_high"] = 0.85
    _reextract(con, rows)
    assert review.verified_effects(con).empty
    queued = review.review_queue(con).set_index("effect_id")
    assert queued.loc[hr["effect_id"], "needs_rereview"]
    reason = queued.loc[hr["effect_id"], "rereview_reason"]
    assert reason == "reviewed under extractor 1: ci_high changed from 0.84 to 0.85"
    assert review.review_summary(con)["needs_rereview"] == 1
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A", "checked again")
    assert list(review.verified_effects(con).effect_id) == [hr["effect_id"]]


def test_changed_span_is_a_new_unreviewed_effect_and_the_old_decision_is_orphaned(con):
    hr = hr_effect(con)
    review.record_decision(con, hr["effect_id"], review.VERIFIED, "Dr A")
    rows = effect_rows(SUSTAIN_1, extractor_version="2")
    for row in rows:
        if row["quote"] == HR_QUOTE:
            row["start"] -= 1  # the span now starts one character earlier
    _reextract(con, rows)
    assert review.verified_effects(con).empty
    orphans = review.orphaned_reviews(con)
    assert list(orphans.effect_id) == [hr["effect_id"]]
    assert set(review.effect_statuses(con).status) == {review.UNREVIEWED}


def test_bad_decisions_are_refused_and_record_nothing(con):
    hr = hr_effect(con)
    good = review.Decision(hr["effect_id"], review.VERIFIED)
    with pytest.raises(PipelineError, match="no extracted effect with id nope"):
        review.record_decisions(con, [good, review.Decision("nope", review.VERIFIED)], "Dr A")
    with pytest.raises(UsageError, match="unknown decision 'maybe'"):
        review.record_decisions(con, [review.Decision(hr["effect_id"], "maybe")], "Dr A")
    with pytest.raises(UsageError, match="reviewer"):
        review.record_decisions(con, [good], "  ")
    assert con.execute("SELECT count(*) FROM core.effect_reviews").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM core.effect_review_log").fetchone()[0] == 0


def test_mark_span_shows_the_sentence_with_the_span_marked(con):
    hr = hr_effect(con)
    marked = review.mark_span(hr["abstract"], hr["start"], hr["end"])
    assert marked.startswith("Esketamine and antidepressant treatment decreased the risk")
    assert f"»{HR_QUOTE}«" in marked
    assert marked.endswith("compared with antidepressant and placebo treatment.")
    ansi = review.mark_span(hr["abstract"], hr["start"], hr["end"], ansi=True)
    assert f"\x1b[7m{HR_QUOTE}\x1b[0m" in ansi


def test_interactive_review_reads_decisions_from_stdin(con):
    queue = review.review_queue(con)
    answers = io.StringIO("maybe\nv matches\nr wrong arm\ns\nq\n")
    out = io.StringIO()
    counts = review.interactive_review(con, queue, "Dr A", stdin=answers, stdout=out)
    assert counts == {"verified": 1, "rejected": 1, "skipped": 1, "corrected": 0}
    text = out.getvalue()
    assert "'maybe' is not one of v, r, c, s, q" in text
    assert "»" in text and "[1/" in text
    statuses = review.effect_statuses(con).set_index("effect_id")
    first, second = queue.effect_id[0], queue.effect_id[1]
    assert statuses.loc[first, ["status", "note"]].tolist() == ["verified", "matches"]
    assert statuses.loc[second, ["status", "note"]].tolist() == ["rejected", "wrong arm"]


def test_interactive_review_stops_at_end_of_input(con):
    counts = review.interactive_review(
        con, review.review_queue(con), "Dr A", stdin=io.StringIO("v\n"), stdout=io.StringIO()
    )
    assert counts == {"verified": 1, "rejected": 0, "skipped": 0, "corrected": 0}


def test_review_command_records_decisions_fed_on_stdin(db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("v\nv\nq\n"))
    code = main(["review", "--db", str(db), "--pmid", SUSTAIN_1, "--reviewer", "Dr C"])
    assert code == 0
    out = capsys.readouterr().out
    assert "as Dr C" in out and "verified 2, rejected 0, skipped 0" in out
    assert main(["review", "--db", str(db), "--summary"]) == 0
    summary = capsys.readouterr().out
    assert "verified: 2" in summary
    assert f"unreviewed: {len(effect_rows(SUSTAIN_1)) - 2}" in summary


def test_review_command_with_nothing_to_review(db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["review", "--db", str(db), "--pmid", "123", "--reviewer", "Dr C"]) == 0
    assert "nothing to review" in capsys.readouterr().out


def test_review_command_without_a_warehouse_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "missing.duckdb"
    assert main(["review", "--db", str(missing), "--reviewer", "Dr C"]) == 1
    assert f"no warehouse at {missing}" in capsys.readouterr().err
    assert not missing.exists()
