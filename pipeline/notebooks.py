"""Execute the notebooks in notebooks/ against the warehouse, and collect their figures.

Each notebook reads the database named by PIPELINE_DB (set here for the kernel) through the
package's functions. `run_notebooks` writes executed copies into a folder; `save_figures` runs
them with PIPELINE_FIGURES_DIR set, so every figure a notebook shows with
`pipeline.plots.publish(fig, name)` is also written there as `<name>.png`. Kernels talk to this
process over IPC (Unix sockets in a private temporary folder), not TCP on localhost, so nothing
travels unencrypted over the network stack and the kernel has no cause to warn that it does.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from tqdm import tqdm
from traitlets.config import Config

from pipeline import config, marts, warehouse
from pipeline.errors import PipelineError, UsageError

log = logging.getLogger(__name__)

DEFAULT_CELL_TIMEOUT = 600


def notebooks_folder(folder: str | os.PathLike[str] | None = None) -> Path:
    """The folder of notebooks: `folder`, else notebooks/ in the project."""
    if folder:
        path = Path(folder)
    else:
        root = config.project_root()
        if root is None:
            raise UsageError("not inside the project (no pyproject.toml and warehouse/ above here)")
        path = root / "notebooks"
    if not path.is_dir():
        raise UsageError(f"no notebooks folder at {path}")
    return path


def notebook_paths(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The notebooks to run, in name order (01_..., 02_..., ...)."""
    paths = sorted(notebooks_folder(folder).glob("*.ipynb"))
    if not paths:
        raise UsageError(f"no notebooks in {notebooks_folder(folder)}")
    return paths


def _ipc_kernel_config(socket_folder: Path) -> Config:
    """Kernel manager settings: IPC transport, its sockets named after a path in `socket_folder`
    (absolute, so the kernel, started in the notebook's folder, finds the same ones)."""
    return Config({"KernelManager": {"transport": "ipc", "ip": str(socket_folder / "kernel")}})


def execute_notebook(path: Path, timeout: int = DEFAULT_CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Execute one notebook top to bottom in its own folder; a failing cell raises PipelineError."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        raise PipelineError(f"cannot read the notebook {path}: {error}") from None
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            config=_ipc_kernel_config(Path(sockets)),
        )
        _execute(client, notebook, path, timeout)
    return notebook


def _execute(
    client: NotebookClient, notebook: nbformat.NotebookNode, path: Path, timeout: int
) -> None:
    """Run the client; a timeout or a failing cell becomes a PipelineError naming the cell."""
    try:
        client.execute()
    except CellTimeoutError as error:
        raise PipelineError(f"{path.name}: a cell ran longer than {timeout} s: {error}") from None
    except CellExecutionError as error:
        cell = next(
            (i for i, c in enumerate(notebook.cells) if _has_error(c)),
            None,
        )
        where = f"cell {cell}" if cell is not None else "a cell"
        summary = f"{error.ename}: {error.evalue}"
        raise PipelineError(f"{path.name}: {where} failed: {summary}") from None


def _has_error(cell) -> bool:
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def run_notebooks(
    out_dir: str | os.PathLike[str],
    db_path: str | os.PathLike[str] | None = None,
    notebooks: str | os.PathLike[str] | None = None,
    figures_dir: str | os.PathLike[str] | None = None,
    refresh: bool = True,
    timeout: int = DEFAULT_CELL_TIMEOUT,
) -> list[Path]:
    """Execute every notebook against the warehouse and write the executed copies to `out_dir`.

    With `refresh`, marts.trial_outcomes and marts.pooled_estimates are recomputed first (that
    opens the database for writing). Returns the paths written.
    """
    db = config.resolve_db_path(db_path).resolve()
    if not db.exists():
        raise PipelineError(f"no warehouse at {db}: run `make ingest` first")
    if refresh:
        con = warehouse.connect(db)
        try:
            n_outcomes, n_pooled = marts.refresh_trial_outcomes(con)
            log.info(
                "marts refreshed: %d trial-outcome rows, %d pooled estimates", n_outcomes, n_pooled
            )
        finally:
            con.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = str(Path(figures_dir).resolve()) if figures_dir else None
    if figures:
        Path(figures).mkdir(parents=True, exist_ok=True)
    written = []
    paths = notebook_paths(notebooks)
    with config.settings_for_children(PIPELINE_DB=str(db), PIPELINE_FIGURES_DIR=figures):
        for path in tqdm(paths, desc="notebooks", unit="notebook"):
            log.info("executing %s", path.name)
            executed = execute_notebook(path, timeout=timeout)
            target = out / path.name
            nbformat.write(executed, target)
            written.append(target)
    return written


def save_figures(
    out_dir: str | os.PathLike[str],
    db_path: str | os.PathLike[str] | None = None,
    notebooks: str | os.PathLike[str] | None = None,
    executed_dir: str | os.PathLike[str] | None = None,
    refresh: bool = True,
) -> list[Path]:
    """Execute the notebooks and save every figure they publish as PNG in `out_dir`.

    The executed notebooks go to `executed_dir`, or to a temporary folder that is removed.
    """
    out = Path(out_dir)
    if executed_dir:
        run_notebooks(executed_dir, db_path, notebooks, figures_dir=out, refresh=refresh)
    else:
        with tempfile.TemporaryDirectory(prefix="executed-") as scratch:
            run_notebooks(scratch, db_path, notebooks, figures_dir=out, refresh=refresh)
    saved = sorted(out.glob("*.png"))
    if not saved:
        raise PipelineError(f"the notebooks published no figures into {out}")
    return saved
