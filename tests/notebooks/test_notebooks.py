"""The notebooks in notebooks/ run from top to bottom in a Jupyter kernel (small settings:
``NABLANET_NOTEBOOK_QUICK=1``) and are committed without outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTER = ["02", "03", "04", "05", "06", "07", "08", "09"]


def test_every_chapter_section_has_a_notebook():
    assert [p.name[:2] for p in NOTEBOOKS] == CHAPTER


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name}: outputs are committed; run `nbstripout {path}`")
        assert "attachments" not in cell


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel for all the notebooks (its namespace is reset before each one): it runs this
    interpreter and imports this checkout's nablanet, writes caches to a temporary folder and
    uses the notebooks' small settings."""
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "NABLANET_NOTEBOOK_QUICK": "1",
        "NABLANET_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec.argv[0] = sys.executable  # not whatever interpreter "python3" names
    manager.start_kernel(cwd=str(tmp_path_factory.mktemp("notebooks")))
    try:
        yield manager
    finally:
        manager.shutdown_kernel(now=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


RESET = "%reset -f"  # nothing a previous notebook defined survives
CHECK = """import nablanet, sys
print(nablanet.__file__)
print(sys.executable)
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(RESET))
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK))
    client = NotebookClient(notebook, km=kernel, timeout=300)
    try:
        client.execute()  # raises CellExecutionError, with the traceback, when a cell fails
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    where, executable = notebook.cells[-1].outputs[0]["text"].split()
    assert Path(where).resolve().is_relative_to(ROOT / "src"), where
    assert executable == sys.executable


FIT = """import numpy as np
import nablanet as nb
from nablanet import layers, models
nb.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
model.compile("sgd", "sparse_categorical_crossentropy")
model.fit(x, y, epochs=2, batch_size=8)
"""


def test_progress_bar_moves_in_the_kernel(kernel):
    """In a real kernel the bar is drawn with '\\r' while the epoch runs (the front end redraws
    the line in place), then finished with a newline."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET),
                                               nbformat.v4.new_code_cell(FIT)])
    client = NotebookClient(notebook, km=kernel, timeout=120)
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    text = "".join(o.get("text", "") for o in notebook.cells[1].outputs
                   if o["output_type"] == "stream")
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "\r1/8 [" in text and "ETA:" in text  # drawn after the first step, before the end
    assert text.count("\r8/8 [==============================] - ") == 2
