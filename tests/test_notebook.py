"""The lab as a notebook (notebooks/lab.ipynb): committed without outputs, and run top to bottom by nbclient on
the demo's reduced settings, as a student would run it (Run All)."""

from __future__ import annotations

import os

import pytest

from testing import ROOT

NOTEBOOK = ROOT / "notebooks" / "lab.ipynb"


def test_the_lab_notebook_is_committed_without_outputs():
    """Bug caught: a notebook committed with its outputs (images, tracebacks, local paths) bloats every diff."""
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_lab_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    """Bug caught: a notebook nobody runs rots as the library changes (a renamed field, a moved function); this
    runs every cell through a real Jupyter kernel."""
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("YTAC_LAB_OUT", str(tmp_path / "lab_out"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})   # as Jupyter runs it
    client.execute(env={**os.environ})
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs)
    assert "against a chance level of 0.25" in text and "true class" in text
    assert any("image/png" in out.get("data", {}) for out in outputs)          # the report's figures, inline
    assert (tmp_path / "lab_out" / "report" / "report.md").is_file()
