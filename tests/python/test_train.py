"""Fine-tuning from Python: progress, Ctrl-C with a checkpoint, and resume=True ending
identical to a run never interrupted (on the tiny BERT of the parity fixtures)."""

import os
import signal
import threading
import time

import pytest

import textclf
from conftest import TINY_BERT


def settings(files, out, **extra):
    return dict(
        model=TINY_BERT, train=files["train"], valid=files["valid"], test=files["test"], epochs=2, max_len=32,
        batch_size=16, lr=1e-3, bootstrap=50, out=out, no_save_model=True, **extra,
    )


def test_progress_events_and_plain_lines(sst2, tmp_path, capsys):
    _, files = sst2
    events = []
    textclf.train(**settings(files, tmp_path / "cb"), progress=lambda *e: events.append(e))
    kinds = [e[0] for e in events]
    assert kinds.count("bar_start") == 2  # one per epoch
    assert "bar_update" in kinds and "bar_end" in kinds and "note" in kinds
    start = next(e for e in events if e[0] == "bar_start")
    assert start[1] == "epoch 1/2" and start[2] == 13  # 200 rows, batches of 16
    # Without tqdm on a terminal: plain lines, no carriage returns.
    capsys.readouterr()
    textclf.train(**settings(files, tmp_path / "lines"), progress="lines")
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "epoch 1/2: 13/13 batches" in err and "epoch 2 step" in err


def test_keyboard_interrupt_checkpoints_and_resume_ends_identical(sst2, tmp_path, monkeypatch):
    _, files = sst2
    whole = textclf.train(**settings(files, tmp_path / "whole"), quiet=True)

    # Hold after the 5th batch until interrupted, and press "Ctrl-C" (SIGINT to this
    # process) from another thread meanwhile, as a notebook's interrupt button does.
    monkeypatch.setenv("TEXTCLF_TEST_HOLD_AFTER_BATCHES", "5")
    killer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    killer.start()
    out = tmp_path / "cut"
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt, match="checkpoint was saved"):
        textclf.train(**settings(files, out), quiet=True)
    killer.join()
    assert time.monotonic() - t < 60
    assert (tmp_path / "cut.partial" / "checkpoint").is_dir()
    assert not out.exists()
    monkeypatch.delenv("TEXTCLF_TEST_HOLD_AFTER_BATCHES")

    with pytest.raises(textclf.TextclfError, match="add --resume"):
        textclf.train(**settings(files, out), quiet=True)
    resumed = textclf.train(**settings(files, out), resume=True, quiet=True)
    a, b = whole.metrics, resumed.metrics
    assert b["accuracy"] == a["accuracy"]
    assert [e["val_loss"] for e in b["epochs"]] == [e["val_loss"] for e in a["epochs"]]
    assert (out / "predictions.csv").read_text() == (tmp_path / "whole" / "predictions.csv").read_text()


def test_keyboard_interrupt_stops_a_sweep_and_it_resumes(sst2, tmp_path, monkeypatch):
    _, files = sst2
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(
        f"""
name = "py-interrupt"
save_models = false
[data]
train = "{files['train']}"
valid = "{files['valid']}"
test = "{files['test']}"
[base]
model = "{TINY_BERT}"
epochs = 2
max_len = 32
batch_size = 16
lr = 1e-3
bootstrap = 50
[[models]]
name = "tiny"
model = "{TINY_BERT}"
"""
    )
    # The child run holds after its 5th batch; Ctrl-C reaches the sweep, which passes it on.
    monkeypatch.setenv("TEXTCLF_TEST_HOLD_AFTER_BATCHES", "5")
    killer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    killer.start()
    with pytest.raises(KeyboardInterrupt, match="run the same command again to resume"):
        textclf.sweep(cfg, out=tmp_path / "sw", quiet=True)
    killer.join()
    monkeypatch.delenv("TEXTCLF_TEST_HOLD_AFTER_BATCHES")
    done = textclf.sweep(cfg, out=tmp_path / "sw", quiet=True)
    assert [r["status"] for r in done["runs"]] == ["done"]
