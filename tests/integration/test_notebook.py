"""notebooks/explore.ipynb runs top to bottom (nbclient) on a fresh run of the seeds."""

import nbformat
from nbclient import NotebookClient

from flows.pipeline import RunConfig, run_plain

from paths import ROOT


def test_notebook_executes(tmp_path, monkeypatch):
    dest = tmp_path / "processed"
    run_plain(RunConfig(source=str(ROOT / "data" / "raw"), dest=str(dest), quality_report=False))
    nb = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    monkeypatch.setenv("NIANBAO_DATA", str(dest))
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o.get("output_type") == "error"]


def test_notebook_is_generated_from_source():
    from flows.make_notebook import build
    nb = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in build().cells]
