import math

import pytest
import torch

from pinn.io import files as io
from pinn.training.checkpoints import CheckpointDir


def _state(step):
    return {"model": {"w": torch.full((2,), float(step))}, "trainer": {"stage": "adam"}}


def test_keeps_the_last_k_plus_the_best(tmp_path):
    ckpts = CheckpointDir(tmp_path, keep=2)
    for step, loss in zip(range(1, 7), [5.0, 1.0, 3.0, 4.0, math.nan, 6.0]):
        ckpts.save(step, _state(step), loss=loss)
    assert ckpts.steps() == [2, 5, 6]
    assert (tmp_path / "best").read_text().split()[0] == "2"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_nan_first_loss_does_not_stick_as_best(tmp_path):
    ckpts = CheckpointDir(tmp_path, keep=1)
    ckpts.save(1, _state(1), loss=math.nan)
    ckpts.save(2, _state(2), loss=0.5)
    ckpts.save(3, _state(3), loss=0.7)
    assert ckpts.steps() == [2, 3]


def test_latest_readable_checkpoint_wins_and_corrupt_ones_are_skipped(tmp_path, caplog):
    ckpts = CheckpointDir(tmp_path, keep=5)
    for step in (1, 2, 3):
        ckpts.save(step, _state(step), loss=1.0 / step)
    assert ckpts.load_latest()["step"] == 3
    ckpts.file(3).write_bytes(ckpts.file(3).read_bytes()[:64])
    ckpts.file(2).write_bytes(b"garbage")
    state = ckpts.load_latest()
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(2))
    assert "skipping checkpoint step-000000003.pt" in caplog.text and "step-000000002.pt" in caplog.text
    ckpts.file(1).write_bytes(b"")
    with pytest.raises(io.RunDirError, match="every checkpoint .* is unreadable"):
        ckpts.load_latest()


def test_no_checkpoints_and_bad_keep(tmp_path):
    with pytest.raises(io.RunDirError, match="no checkpoints"):
        CheckpointDir(tmp_path / "none").load_latest()
    with pytest.raises(ValueError, match="checkpoint.keep"):
        CheckpointDir(tmp_path, keep=0)
