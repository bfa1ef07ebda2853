"""examples/python/quickstart.ipynb, executed headless: a baseline, a tiny fine-tune and
the inline report render, and the progress output holds no carriage returns."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def test_quickstart_notebook_executes_and_renders(tmp_path):
    pytest.importorskip("nbconvert")
    pytest.importorskip("pandas")
    src = REPO / "examples" / "python" / "quickstart.ipynb"
    nb = tmp_path / "quickstart.ipynb"
    shutil.copy(src, nb)
    env = dict(os.environ)
    env.setdefault("TEXTCLF_DATA_DIR", str(REPO.parent / "shared" / "data"))
    env.setdefault("TEXTCLF_MODELS_DIR", str(REPO.parent / "shared" / "models"))
    env["TEXTCLF_RUNS_DIR"] = str(tmp_path / "runs")
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
         "--ExecutePreprocessor.timeout=600", str(nb)],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    report = "".join(html[0]) if html else ""
    assert report.startswith("<iframe") and "srcdoc=" in report
    assert "accuracy" in report.lower()
    streams = "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream")
    assert "\r" not in streams
    assert "epoch 1/1" in streams  # the fine-tune's progress lines
    assert "accuracy 0." in streams
    # The fine-tune's accuracy is the last output of its cell.
    tuned = cells[4]["outputs"][-1]["data"]["text/plain"]
    assert 0.0 <= float("".join(tuned)) <= 1.0
