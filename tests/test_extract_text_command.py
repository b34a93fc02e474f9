"""`python -m pipeline extract-text`: JSON lines in and out, bad lines reported by number."""

from __future__ import annotations

import io
import json
import os
import subprocess
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
    assert out == [{"line": 1, "id": "m", "error": '"publication_types" must be a list of strings'}]


# --- hostile input: each line on its own, output always strict UTF-8 JSON -------------------

RESPONDED = "RESULTS: 45% of patients responded."


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in the output is not JSON")


def strict_json_lines(data: bytes) -> list[dict]:
    """Output lines parsed strictly: UTF-8, and no NaN or Infinity."""
    text = data.decode("utf-8")  # strict: a surrogate or invalid byte fails here
    return [json.loads(line, parse_constant=_no_constant) for line in text.splitlines()]


def run_process(data: bytes, *options: str, **env: str) -> tuple[int, list[dict], str]:
    """The command as a separate process, so that a crash of the interpreter is seen."""
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "extract-text", *options],
        input=data,
        capture_output=True,
        timeout=300,
        env={**os.environ, **env},
    )
    return completed.returncode, strict_json_lines(completed.stdout), completed.stderr.decode()


def run_strict(monkeypatch, capsys, data: bytes, *options: str) -> tuple[int, list[dict]]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(["extract-text", *options])
    return code, strict_json_lines(capsys.readouterr().out.encode("utf-8"))


def good_line(record_id: str = "ok") -> bytes:
    return json.dumps({"id": record_id, "title": "t", "abstract": RESPONDED}).encode()


def lines(*items: bytes) -> bytes:
    return b"\n".join(items) + b"\n"


LONE_SURROGATES = lines(
    b'{"id": "s1", "title": "t", "abstract": "Response \\ud800: 45% of patients responded."}',
    b'{"id": "s2\\udc00", "title": "t", "abstract": "x"}',
    b'{"id": "s3", "title": "t \\udfff", "abstract": "x"}',
    b'{"id": "s4", "abstract": "x", "mesh": ["Ketamine", "\\ud83d"]}',
    b'{"id": "pair", "title": "t", "abstract": "\\ud83d\\ude00 45% of patients responded."}',
    good_line(),
)


def check_lone_surrogates(code: int, out: list[dict]) -> None:
    assert code == 1
    assert [o.get("line") for o in out] == [1, 2, 3, 4, None, None]
    assert out[0] == {
        "line": 1,
        "id": "s1",
        "error": '"abstract" holds a lone UTF-16 surrogate (\\ud800) at character 9, '
        "which is not Unicode text",
    }
    assert "id" not in out[1] and '"id" holds a lone UTF-16 surrogate (\\udc00)' in out[1]["error"]
    assert out[2]["id"] == "s3" and '"title" holds' in out[2]["error"]
    assert '"mesh" item 1 holds a lone UTF-16 surrogate (\\ud83d)' in out[3]["error"]
    assert out[4]["id"] == "pair" and out[4]["effects"][0]["quote"] == "45%"
    assert out[5]["id"] == "ok" and [e["value"] for e in out[5]["effects"]] == [45.0]


def test_lone_surrogate_is_an_error_of_its_line(monkeypatch, capsys) -> None:
    check_lone_surrogates(*run_strict(monkeypatch, capsys, LONE_SURROGATES))


def test_lone_surrogate_does_not_end_the_process() -> None:
    code, out, _ = run_process(LONE_SURROGATES)
    check_lone_surrogates(code, out)


DEEP = b'{"id": "deep", "abstract": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def check_deep(code: int, out: list[dict]) -> None:
    assert code == 1
    assert out[0] == {"line": 1, "error": "not JSON this command can read: nested too deeply"}
    assert out[1]["id"] == "ok" and len(out[1]["effects"]) == 1


def test_deep_nesting_is_an_error_of_its_line(monkeypatch, capsys) -> None:
    check_deep(*run_strict(monkeypatch, capsys, lines(DEEP, good_line())))


def test_deep_nesting_does_not_end_the_process() -> None:
    code, out, _ = run_process(lines(DEEP, good_line()))
    check_deep(code, out)


NON_FINITE = lines(
    b'{"id": 1e309, "title": "t", "abstract": "x"}',
    b'{"id": NaN, "title": "t", "abstract": "x"}',
    b'{"id": "i", "title": "t", "abstract": "x", "extra": -Infinity}',
    b'{"id": 123456789012345678901234567890, "title": "t", "abstract": "x"}',
    b'{"id": 1.0, "title": "t", "abstract": "x"}',
    b'{"id": -0, "title": "t", "abstract": "x"}',
    b'{"id": true, "title": "t", "abstract": "x"}',
    b'{"id": "p", "title": "t", "abstract": "' + b"9" * 330 + b'% of patients responded."}',
    good_line(),
)


def check_non_finite(code: int, out: list[dict]) -> None:
    assert code == 1
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert errors == {
        1: '"id" is the number 1e309, which has a fraction or exponent: write it as a string '
        "to keep it exactly",
        2: "NaN is not a JSON value (JSON has no NaN or Infinity)",
        3: "-Infinity is not a JSON value (JSON has no NaN or Infinity)",
        5: '"id" is the number 1.0, which has a fraction or exponent: write it as a string to '
        "keep it exactly",
        6: '"id" is the integer -0, which cannot be written back with the same digits: write '
        "it as a string",
        7: '"id" must be a string or an integer, not true or false',
    }
    assert out[3]["id"] == 123456789012345678901234567890  # the same digits, not a float
    huge = out[7]
    assert huge["id"] == "p" and huge["effects"] == []
    assert huge["quarantined"] == [
        {
            "kind": "response_rate",
            "quote": "9" * 330 + "%",
            "start": 0,
            "end": 331,
            "reason": f"the value {'9' * 40}... (330 characters) is too large to represent",
        }
    ]
    assert out[8]["id"] == "ok" and out[8]["quarantined"] == []


def test_non_finite_numbers_never_reach_the_output(monkeypatch, capsys) -> None:
    check_non_finite(*run_strict(monkeypatch, capsys, NON_FINITE))


def test_non_finite_numbers_never_reach_the_output_of_the_process() -> None:
    code, out, _ = run_process(NON_FINITE)
    check_non_finite(code, out)


def test_impossible_rate_is_quarantined_not_dropped(monkeypatch, capsys) -> None:
    abstract = "RESULTS: 145% of patients responded, and 30% remitted."
    line = json.dumps({"id": "r", "title": "t", "abstract": abstract}).encode()
    code, [out] = run_strict(monkeypatch, capsys, lines(line))
    assert code == 0
    assert [(e["kind"], e["value"]) for e in out["effects"]] == [("remission_rate", 30.0)]
    [held] = out["quarantined"]
    assert held == {
        "kind": "response_rate",
        "quote": "145%",
        "start": 9,
        "end": 13,
        "reason": "a response_rate of 145 is not a share of patients (0 to 100)",
    }
    assert abstract[held["start"] : held["end"]] == held["quote"]


CONTROL_CHARACTERS = lines(
    b'{"id": "crlf", "title": "t", "abstract": "Line one.\\r\\nRESULTS: 45% of patients '
    b'responded."}\r',
    b'{"id": "nul", "title": "t\\u0000", "abstract": "\\u0000 45% of patients\\u0000responded."}',
    b'{"id": "raw-cr", "title": "t", "abstract": "a\rb"}',
    b'{"id": "raw-nul", "title": "t", "abstract": "a\x00b"}',
    b'{"id": "empty", "title": "", "abstract": ""}',
    b'{"id": "no-title", "abstract": "x"}',
    b'{"id": "null-abstract", "title": "t", "abstract": null}',
    b'{"id": "no-abstract", "title": "t"}',
    b"{}",
    b'{"id": ""}',
    b"\r",
    good_line(),
)


def check_control_characters(code: int, out: list[dict]) -> None:
    assert code == 1
    by_id = {o.get("id", o.get("line")): o for o in out}
    assert by_id["crlf"]["effects"][0]["quote"] == "45%"
    assert by_id["nul"]["trial"]["design"] is None and by_id["nul"]["quarantined"] == []
    assert "not JSON: Invalid control character" in by_id[3]["error"]
    assert "not JSON: Invalid control character" in by_id[4]["error"]
    assert by_id["empty"]["effects"] == [] and by_id["no-title"]["effects"] == []
    assert by_id["null-abstract"]["error"] == '"abstract" is missing'
    assert by_id["no-abstract"]["error"] == '"abstract" is missing'
    assert by_id[9] == {"line": 9, "error": '"id" is missing'}
    assert by_id[""]["error"] == '"abstract" is missing'
    assert by_id["ok"]["effects"][0]["value"] == 45.0
    assert len(out) == 11  # the blank line (a lone CR) is skipped


def test_control_characters_and_empty_fields(monkeypatch, capsys) -> None:
    check_control_characters(*run_strict(monkeypatch, capsys, CONTROL_CHARACTERS))


def test_control_characters_and_empty_fields_in_the_process() -> None:
    code, out, _ = run_process(CONTROL_CHARACTERS)
    check_control_characters(code, out)


def test_lines_over_the_limit_are_refused_and_the_rest_processed(monkeypatch, capsys) -> None:
    long_line = json.dumps({"id": "long", "abstract": "x" * 5000}).encode()
    data = lines(long_line, good_line())
    expected = [
        {"line": 1, "error": f"the line is {len(long_line):,} bytes long, over the limit of 4,000"},
        "ok",
    ]
    code, out = run_strict(monkeypatch, capsys, data, "--max-line-bytes", "4000")
    assert code == 1
    assert [out[0], out[1]["id"]] == expected
    code, out, _ = run_process(data, "--max-line-bytes", "4000")
    assert [out[0], out[1]["id"]] == expected


def test_output_is_utf8_whatever_the_locale_says() -> None:
    abstract = "RESULTS: 45\u2009% of patients responded (esketamine \u2264 84 mg)."
    line = json.dumps({"id": "\u00e9", "title": "t", "abstract": abstract}).encode()
    code, [out], _ = run_process(lines(line), PYTHONIOENCODING="ascii", LC_ALL="C")
    assert code == 0
    assert out["id"] == "\u00e9" and out["effects"][0]["quote"] == "45\u2009%"
