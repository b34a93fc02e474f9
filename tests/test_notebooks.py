"""The notebooks: committed without outputs, and executed top to bottom against a real warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from pipeline import notebooks
from pipeline.cli import main
from pipeline.errors import PipelineError

# Executes every notebook against an ingested warehouse.
pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
OWN_NOTEBOOKS = ("01_literature.ipynb", "02_effects.ipynb", "03_clinic_vs_literature.ipynb")


def committed_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_there():
    names = {p.name for p in committed_notebooks()}
    assert set(OWN_NOTEBOOKS) <= names


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for i, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("name", OWN_NOTEBOOKS)
def test_notebooks_read_the_warehouse_through_the_package(name):
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells)
    assert "config.resolve_db_path()" in source
    assert "read_only=True" in source
    assert "/work/shared" not in source and "../shared" not in source


@pytest.fixture(scope="module")
def executed(ingested_warehouse, tmp_path_factory):
    """Every notebook executed against a copy of the ingested warehouse, figures saved."""
    folder = tmp_path_factory.mktemp("notebooks")
    database = folder / "evidence.duckdb"
    shutil.copy(ingested_warehouse, database)
    figures = folder / "figures"
    saved = notebooks.save_figures(figures, database, NOTEBOOKS, executed_dir=folder / "executed")
    return folder / "executed", saved


def _outputs_text(book) -> str:
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for value in output.get("data", {}).values():
                parts.append(value if isinstance(value, str) else "")
    return "\n".join(parts)


def test_every_notebook_runs_without_errors(executed):
    folder, _ = executed
    for path in committed_notebooks():
        book = nbformat.read(folder / path.name, as_version=4)
        errors = [
            output
            for cell in book.cells
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
        ]
        assert not errors, f"{path.name}: {errors}"


def test_the_notebooks_publish_their_figures(executed):
    _, saved = executed
    names = {p.stem for p in saved}
    expected = {
        "literature_by_year",
        "literature_by_design",
        "clinic_phq9_trajectories",
        "clinic_vs_trials_iv_response",
        "clinic_vs_trials_intranasal_remission",
    }
    assert expected <= names
    assert any(name.startswith("forest_") for name in names)
    for path in saved:
        assert path.read_bytes().startswith(b"\x89PNG")


def test_the_clinic_notebook_says_the_demo_data_is_synthetic_and_gives_caveats(executed):
    folder, _ = executed
    book = nbformat.read(folder / "03_clinic_vs_literature.ipynb", as_version=4)
    assert "SYNTHETIC DEMO DATA" in _outputs_text(book)
    markdown = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    for caveat in ("self-report", "clinician", "No control group", "Selection",
                   "Regression to the mean"):  # fmt: skip
        assert caveat in markdown


def _tiny_notebook(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    book = new_notebook(cells=[new_code_cell(source)])
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "01_tiny.ipynb"
    nbformat.write(book, path)
    return path


def test_a_failing_cell_is_reported_with_notebook_and_cell(ingested_warehouse, tmp_path):
    _tiny_notebook(tmp_path / "nb", "raise ValueError('boom')")
    with pytest.raises(PipelineError, match=r"01_tiny\.ipynb: cell 0 failed: ValueError: boom"):
        notebooks.run_notebooks(
            tmp_path / "out", ingested_warehouse, tmp_path / "nb", refresh=False
        )


def test_the_command_runs_notebooks_with_the_database_in_pipeline_db(
    ingested_warehouse, tmp_path, capsys
):
    _tiny_notebook(tmp_path / "nb", "import os\nprint(os.environ['PIPELINE_DB'])")
    out, folder = str(tmp_path / "out"), str(tmp_path / "nb")
    code = main(
        ["notebooks", "run", "--out", out, "--db", str(ingested_warehouse), "--notebooks", folder,
         "--no-refresh"]
    )  # fmt: skip
    assert code == 0
    assert str(tmp_path / "out" / "01_tiny.ipynb") in capsys.readouterr().out
    book = nbformat.read(tmp_path / "out" / "01_tiny.ipynb", as_version=4)
    assert book.cells[0].outputs[0]["text"].strip() == str(Path(ingested_warehouse).resolve())


def test_a_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="no warehouse at"):
        notebooks.run_notebooks(tmp_path / "out", tmp_path / "missing.duckdb", NOTEBOOKS)


def test_kernels_talk_over_ipc_so_no_unencrypted_tcp_warning(tmp_path, capfd):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nprint(6 * 7)")]), path)
    executed = notebooks.execute_notebook(path, timeout=120)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out
    assert "TCP" not in captured.err
    assert list(tmp_path.iterdir()) == [path]  # no socket files left beside the notebook


def test_the_registry_results_are_shown_with_their_source(executed):
    folder, saved = executed
    names = {p.stem for p in saved}
    assert {
        "forest_registry_esketamine_response_day28",
        "forest_registry_esketamine_remission_day28",
    } <= names
    effects = _outputs_text(nbformat.read(folder / "02_effects.ipynb", as_version=4))
    assert "events are percentage x n analysed, rounded to a whole person" in effects
    assert "from registry counts (percentage x n analysed" in effects
    literature = _outputs_text(nbformat.read(folder / "01_literature.ipynb", as_version=4))
    assert "**1 with no linked publication**, of which **1 have results posted**" in literature
    assert "NCT02422186 (results posted)" in literature


def test_the_review_notebook_shows_corrections_made_on_a_copy(executed):
    folder, _ = executed
    text = _outputs_text(nbformat.read(folder / "04_review.ipynb", as_version=4))
    assert "0 correction(s) in force, 0 set aside." in text
    assert "Recorded 1 correction(s) and " in text and "on a copy (now deleted)" in text
    assert "demonstration on a copy" in text  # the correction's note, from the copy's log


def test_the_clinic_notebook_labels_trial_points_with_their_arm_from_the_study_structure(
    executed, ingested_warehouse
):
    """Each trial point is labelled with its arm as core.arms names it (never the rules' arm
    words), its timepoint and its n; a point with no arm id says 'arm not stated'."""
    from pipeline import marts, warehouse

    folder, _ = executed
    text = _outputs_text(nbformat.read(folder / "03_clinic_vs_literature.ipynb", as_version=4))
    assert "Trial points, " in text and "arm not named" not in text
    con = warehouse.connect(ingested_warehouse, read_only=True)
    try:
        rates = marts.trial_arm_rates(con)
    finally:
        con.close()
    shown = rates[rates["route"].isin(["iv", "intranasal"]) & rates["arm"].notna()]
    assert len(shown)
    for rate in shown.itertuples():
        if rate.design in ("review", "protocol") or rate.outcome == "relapse":
            continue
        assert f"): {rate.arm}, " in text, rate.arm
