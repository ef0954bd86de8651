"""The analysts' notebooks run top to bottom on a freshly processed tiny demo county."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import polars as pl
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.demo import generate_county

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MONTH = "2020-04"
CELL_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def processed_county(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    """A 4-month tiny county (with ground truth) after the monthly job ran up to ``MONTH``."""
    county = tmp_path_factory.mktemp("notebook-county")
    generate_county(county, seed=5, scale=0.01, months=4)
    result = CliRunner().invoke(
        app,
        ["run", "--inbox", str(county / "inbox"), "--month", MONTH, "--out", str(county / "out")],
    )
    assert result.exit_code == 0, result.output
    return county


@pytest.fixture(scope="module")
def python3_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Kernel ``python3`` bound to this interpreter, whatever kernels the machine has.

    A user-level ``python3`` kernelspec (``~/.local/share/jupyter``) would otherwise win over
    the venv's and run the notebooks in another environment; ``JUPYTER_PATH`` comes first.
    """
    data_dir = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(data_dir / "kernels" / "python3")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(data_dir))
        yield


def execute_notebook(
    name: str, parameters: dict[str, object], workdir: Path
) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>`` with its ``parameters`` cell replaced; raises on a cell error."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    parameter_cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameter_cells) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    parameter_cells[0].source = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


@pytest.mark.usefixtures("python3_kernel")
def test_evaluation_notebook_draws_its_figures(processed_county: Path, tmp_path: Path) -> None:
    executed = execute_notebook(
        "evaluation.ipynb",
        {"DEMO": str(processed_county), "OUT": str(processed_county / "out"), "MONTH": MONTH},
        tmp_path,
    )
    cell_outputs = outputs(executed)
    assert not [o for o in cell_outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in cell_outputs)


@pytest.mark.usefixtures("python3_kernel")
@pytest.mark.parametrize("typology", [None, "deceased_paid", "identity_anomaly"])
def test_case_exploration_notebook_runs_without_showing_identity_numbers(
    processed_county: Path, tmp_path: Path, typology: str | None
) -> None:
    out = processed_county / "out"
    cases = pl.read_parquet(out / MONTH / "cases.parquet").sort("priority_rank")
    if typology is not None:
        cases = cases.filter(pl.col("typology") == typology)
    assert cases.height, f"the tiny county should yield a {typology} case"
    case = cases.row(0, named=True)

    executed = execute_notebook(
        "case_exploration.ipynb",
        {"OUT": str(out), "MONTH": MONTH, "CASE_RANK": case["priority_rank"]},
        tmp_path,
    )
    cell_outputs = outputs(executed)
    assert not [o for o in cell_outputs if o.output_type == "error"]
    shown = str(cell_outputs)
    assert case["person_id"] not in shown
    if case["name"]:
        assert case["name"] not in shown
