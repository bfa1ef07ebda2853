"""The Python API against the command line it wraps: same results, same errors."""

import json
import os
import subprocess
import sys

import pytest

import textclf


def cli(*args, cwd=None):
    """The command line itself (`python -m textclf` is the textclf binary)."""
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_command_line_mapping():
    argv = textclf.command_line(
        dict(model="nbsvm", C=4.0, c_grid=[1, 2], class_weights=[1, 3], keep_html=True, no_lowercase=False, ngram=None, lr=5e-5)
    )
    assert argv == ["--model", "nbsvm", "--C", "4.0", "--c-grid", "1", "--c-grid", "2", "--class-weights", "1,3", "--keep-html", "--lr", "5e-05"]


def test_baseline_from_paths_matches_the_cli(sst2, tmp_path):
    _, files = sst2
    run = textclf.baseline(train=files["train"], test=files["test"], model="nbsvm", out=tmp_path / "py", quiet=True)
    assert isinstance(run.metrics["accuracy"], float)
    assert 0.5 < run.metrics["accuracy"] <= 1.0
    done = cli("baseline", "--train", files["train"], "--test", files["test"], "--model", "nbsvm", "--out", tmp_path / "cli", "--quiet")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "cli" / "metrics.json") as f:
        theirs = json.load(f)
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "ci"):
        assert run.metrics[key] == theirs[key], key
    assert (tmp_path / "py" / "predictions.csv").read_text() == (tmp_path / "cli" / "predictions.csv").read_text()


def _predicted(run):
    p = run.predictions
    return list(p["predicted"]) if hasattr(p, "columns") else [r["predicted"] for r in p]


def test_list_inputs_give_the_same_run_as_files(sst2, tmp_path):
    splits, files = sst2
    ref = textclf.baseline(train=files["train"], test=files["test"], out=tmp_path / "ref", quiet=True)
    pairs = textclf.baseline(train=splits["train"], test=splits["test"], out=tmp_path / "pairs", quiet=True)
    texts, labels = zip(*splits["train"])
    tt, tl = zip(*splits["test"])
    columns = textclf.baseline(
        train=(list(texts), list(labels)), test={"text": list(tt), "label": list(tl)}, out=tmp_path / "cols", quiet=True
    )
    for run in (pairs, columns):
        assert run.metrics["accuracy"] == ref.metrics["accuracy"]
        assert _predicted(run) == _predicted(ref)
    # Without pandas the predictions are a list of dicts; with it, a DataFrame.
    assert len(ref.predictions) == len(splits["test"])


def test_dataframe_input_with_named_columns(sst2, tmp_path):
    pd = pytest.importorskip("pandas")
    splits, files = sst2
    ref = textclf.baseline(train=files["train"], test=files["test"], model="svm", out=tmp_path / "ref", quiet=True)
    frame = lambda rows: pd.DataFrame({"words": [t for t, _ in rows], "y": [int(l) for _, l in rows]})
    run = textclf.baseline(
        train=frame(splits["train"]), test=frame(splits["test"]), model="svm", text_col="words", label_col="y",
        out=tmp_path / "df", quiet=True,
    )
    assert run.metrics["accuracy"] == ref.metrics["accuracy"]
    assert isinstance(run.predictions, pd.DataFrame)
    assert list(run.predictions["predicted"]) == _predicted(ref)


class FakeClassLabel:
    names = ["negative", "positive"]

    def int2str(self, i):
        return self.names[i]


class FakeDataset:
    """Duck-typed like datasets.Dataset: features, column_names, iteration over rows."""

    def __init__(self, rows):
        self.rows = [{"sentence": t, "label": int(l)} for t, l in rows]
        self.column_names = ["sentence", "label"]
        self.features = {"sentence": object(), "label": FakeClassLabel()}

    def __iter__(self):
        return iter(self.rows)


def test_hf_dataset_input_uses_class_names(sst2, tmp_path):
    splits, _ = sst2
    run = textclf.baseline(train=FakeDataset(splits["train"]), test=FakeDataset(splits["test"]), out=tmp_path / "hf", quiet=True)
    per_class = json.dumps(run.metrics["per_class"])
    assert "negative" in per_class and "positive" in per_class
    assert set(_predicted(run)) <= {"negative", "positive"}


def test_a_pool_split_by_the_command(sst2, tmp_path):
    splits, _ = sst2
    run = textclf.baseline(data=splits["train"] + splits["test"], split="70/10/20", per_class=60, out=tmp_path / "pool", quiet=True)
    assert run.metrics["data"]["test"]["rows"] > 0 if isinstance(run.metrics["data"].get("test"), dict) else True
    assert 0.0 <= run.metrics["accuracy"] <= 1.0


def test_errors_carry_the_cli_message(sst2, tmp_path):
    _, files = sst2
    missing = tmp_path / "nope.csv"
    with pytest.raises(textclf.TextclfError) as err:
        textclf.baseline(train=missing, test=files["test"], out=tmp_path / "x", quiet=True)
    done = cli("baseline", "--train", missing, "--test", files["test"], "--out", tmp_path / "y")
    assert done.returncode == 1
    line = [l for l in done.stderr.splitlines() if l.startswith("error: ")][-1]
    assert str(err.value) == line[len("error: "):]
    assert str(missing) in str(err.value)


def test_usage_errors_are_usage_errors(sst2, tmp_path):
    _, files = sst2
    with pytest.raises(textclf.UsageError, match="invalid value 'bogus' for '--model"):
        textclf.baseline(train=files["train"], test=files["test"], model="bogus", out=tmp_path / "x")
    with pytest.raises(textclf.UsageError, match="unexpected argument '--no-such-flag'"):
        textclf.baseline(train=files["train"], test=files["test"], out=tmp_path / "x", no_such_flag=1)
    assert issubclass(textclf.UsageError, textclf.TextclfError)
    with pytest.raises(TypeError, match="expected a file path"):
        textclf.baseline(train=42, test=files["test"], out=tmp_path / "x")


def test_load_predict_and_proba(sst2, tmp_path):
    splits, files = sst2
    run = textclf.baseline(train=files["train"], test=files["test"], model="lr", out=tmp_path / "lr", quiet=True)
    clf = textclf.load(tmp_path / "lr" / "model")
    assert clf.labels == ["0", "1"]
    texts = [t for t, _ in splits["test"]]
    pred = clf.predict(texts)
    assert pred == _predicted(run)
    proba = clf.predict_proba(texts)
    rows = proba.tolist() if hasattr(proba, "tolist") else proba
    assert len(rows) == len(texts) and all(abs(sum(r) - 1) < 1e-4 for r in rows)
    assert [clf.labels[max(range(2), key=r.__getitem__)] for r in rows] == pred
    assert clf.predict("a wonderful , moving film") in (["0"], ["1"])
    with pytest.raises(textclf.TextclfError, match="is not a saved textclf model"):
        textclf.load(tmp_path)


def test_report_advise_compare_and_inline_html(sst2, tmp_path):
    _, files = sst2
    runs = tmp_path / "runs"
    a = textclf.baseline(train=files["train"], test=files["test"], model="lr", out=runs / "lr", quiet=True)
    b = textclf.baseline(train=files["train"], test=files["test"], model="nbsvm", out=runs / "nbsvm", quiet=True)
    c = textclf.compare(a, b)
    assert "mcnemar" in json.dumps(c).lower()
    assert "McNemar" in c.text
    rep = textclf.report(runs, quiet=True)
    assert rep["runs"] == 2 and (runs / "report.html").is_file()
    adv = textclf.advise(runs, quiet=True)
    assert adv.markdown == (runs / "advice.md").read_text()
    html = a._repr_html_()
    assert html.startswith("<iframe") and "srcdoc=" in html and "&lt;" in html
    assert (runs / "lr" / "report.html").is_file()
    assert "Run(" in repr(a) and "accuracy=" in repr(a)


def test_data_stats(sst2):
    _, files = sst2
    stats = textclf.data_stats(files["train"], files["test"])
    assert "200" in json.dumps(stats)


def test_sweep_runs_children_through_python(sst2, tmp_path):
    _, files = sst2
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(
        f"""
name = "py-smoke"
save_models = false
[data]
train = "{files['train']}"
valid = "{files['valid']}"
test = "{files['test']}"
[base]
bootstrap = 50
[[models]]
name = "nbsvm"
baseline = "nbsvm"
[[models]]
name = "lr"
baseline = "lr"
"""
    )
    events = []
    s = textclf.sweep(cfg, out=tmp_path / "sw", progress=lambda *e: events.append(e))
    assert sorted(r["status"] for r in s["runs"]) == ["done", "done"]
    assert any(kind == "note" and "[nbsvm]" in str(a) for kind, a, *_ in events)
    again = textclf.sweep(cfg, out=tmp_path / "sw", quiet=True)
    assert [r["status"] for r in again["runs"]] == ["done", "done"]
    assert "<iframe" in s._repr_html_()
