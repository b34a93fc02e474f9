"""`python -m pipeline extract-text`: JSON lines in and out, bad lines reported by number."""

from __future__ import annotations

import io
import json
import sys

from pipeline.cli import main

ABSTRACT = "RESULTS: Response was more likely with ketamine (OR\u2009=\u20092.2 (1.1\u20134.5))."


def run(monkeypatch, capsys, data: bytes) -> tuple[int, list[dict], str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(["extract-text"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_one_line_in_one_line_out(monkeypatch, capsys) -> None:
    line = json.dumps({"id": "a1", "title": "Ketamine trial", "abstract": ABSTRACT})
    code, out, _ = run(monkeypatch, capsys, (line + "\n").encode())
    assert code == 0
    [record] = out
    assert record["id"] == "a1"
    assert set(record["trial"]) >= {
        "design", "drug", "route", "comparator", "population", "n_randomized", "arms", "scales",
    }  # fmt: skip
    [effect] = record["effects"]
    assert list(effect)[:10] == [
        "kind", "value", "ci_low", "ci_high", "p", "arm", "timepoint", "scale", "start", "end",
    ]  # fmt: skip
    assert (effect["kind"], effect["value"], effect["ci_low"], effect["ci_high"]) == (
        "odds_ratio", 2.2, 1.1, 4.5,
    )  # fmt: skip
    assert ABSTRACT[effect["start"] : effect["end"]] == effect["quote"]


def test_bad_lines_are_reported_and_the_rest_processed(monkeypatch, capsys, caplog) -> None:
    lines = [
        json.dumps({"id": 1, "title": "t", "abstract": ABSTRACT}).encode(),
        b"{not json",
        json.dumps({"id": 3, "title": "t"}).encode(),
        b"",
        b"\xff\xfe not utf-8",
        json.dumps(["a", "list"]).encode(),
        json.dumps({"id": 7, "abstract": "No numbers here."}).encode(),
    ]
    code, out, _ = run(monkeypatch, capsys, b"\n".join(lines) + b"\n")
    assert code == 1
    assert [o.get("id", o.get("line")) for o in out] == [1, 2, 3, 5, 6, 7]
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert set(errors) == {2, 3, 5, 6}
    assert "not JSON" in errors[2]
    assert '"abstract" is missing' in errors[3]
    assert "UTF-8" in errors[5]
    assert "input line 2: not JSON" in caplog.text
    assert out[-1]["effects"] == []


def test_publication_types_are_used(monkeypatch, capsys) -> None:
    line = json.dumps(
        {
            "id": "m",
            "title": "Esketamine",
            "abstract": "Pooled.",
            "publication_types": ["Meta-Analysis"],
        }
    )
    code, out, _ = run(monkeypatch, capsys, line.encode())
    assert code == 0
    assert out[0]["trial"]["design"] == "review"


def test_publication_types_must_be_strings(monkeypatch, capsys) -> None:
    line = json.dumps({"id": "m", "title": "t", "abstract": "x", "publication_types": [1]})
    code, out, _ = run(monkeypatch, capsys, line.encode())
    assert code == 1
    assert out == [{"line": 1, "error": '"publication_types" must be a list of strings'}]
