"""The clinic export mapping: the shipped default, and mistakes in a mapping file."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.clinic.mapping import (
    FIELDS,
    default_mapping_text,
    load_mapping,
    map_columns,
    normalise_header,
)
from pipeline.errors import PipelineError

MINIMAL = """
[fields]
patient_id = "ID"
session_date = "Date"
route = "Route"
drug = "Drug"
dose = "Dose"
dose_unit = "Unit"
session_number = "No"
phq9_pre = "PHQ9"
"""


def test_the_default_mapping_documents_every_field():
    text = default_mapping_text()
    assert set(tomllib.loads(text)["fields"]) == set(FIELDS)
    lines = text.splitlines()
    for field in FIELDS:
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{field} ="))
        start = index
        while lines[start - 1].strip():  # back to the start of its block
            start -= 1
        comments = [line for line in lines[start:index] if line.startswith("#")]
        assert "#" in lines[index] or comments, field


def test_the_default_mapping_loads():
    mapping = load_mapping()
    assert mapping.code_for("route", " Nasal Spray ") == "intranasal"
    assert mapping.code_for("drug", "SPRAVATO") == "esketamine"
    assert mapping.code_for("route", "oral") is None
    assert mapping.date_formats == ("%Y-%m-%d",)
    assert "n/a" in mapping.missing and "" in mapping.missing


def test_headers_match_without_case_spaces_or_punctuation():
    assert normalise_header(" PHQ-9 Pre ") == normalise_header("phq9_pre") == "phq9pre"
    assert normalise_header("Session #") == "session#"


def test_a_small_mapping_with_defaults(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MINIMAL)
    mapping = load_mapping(path)
    assert mapping.headers["patient_id"] == ("ID",)
    assert mapping.code_for("route", "IV") == "iv"  # the codes themselves always count
    assert (
        map_columns(["ID", "Date", "Route", "Drug", "Dose", "Unit", "No", "PHQ9"], mapping, "x")[
            "phq9_pre"
        ]
        == "PHQ9"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[fields\n", "is not valid TOML"),
        ("[options]\n", "has no [fields] table"),
        (MINIMAL + 'hair_colour = "Hair"\n', "names unknown fields ['hair_colour']"),
        (MINIMAL.replace('phq9_pre = "PHQ9"\n', ""), "does not map required fields ['phq9_pre']"),
        (MINIMAL + 'phq9_post = "phq9"\n', "gives the header 'phq9' to both"),
        (MINIMAL + '[values.route]\noral = ["po"]\n', "[values.route] has the code 'oral'"),
        (MINIMAL + '[values.route]\niv = ["x"]\nintranasal = ["X"]\n', "'X' means both iv and"),
        (MINIMAL + "[options]\ndate_formats = 3\n", "options.date_formats must be a string"),
        (MINIMAL + '[options]\ndelimiter = ";;"\n', "options.delimiter must be one character"),
    ],
)  # fmt: skip
def test_mistakes_in_a_mapping_are_named(tmp_path, text, expected):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(PipelineError) as caught:
        load_mapping(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_a_missing_mapping_file_is_named(tmp_path):
    with pytest.raises(PipelineError, match="cannot read the clinic mapping .*nope.toml"):
        load_mapping(tmp_path / "nope.toml")


def test_two_columns_for_one_field_are_refused():
    headers = ["Patient ID", "Client ID", "Session Date", "Route", "Drug", "Dose", "Dose Unit",
               "Session #", "PHQ-9 Pre"]  # fmt: skip
    with pytest.raises(PipelineError, match="'Patient ID' and 'Client ID' both map to patient_id"):
        map_columns(headers, load_mapping(), "export.csv")
