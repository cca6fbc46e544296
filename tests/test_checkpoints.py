import math
import os

import pytest
import torch

from pinn.io import files as io
from pinn.io.checkpoints import CheckpointDir


def _state(step):
    return {"model": {"w": torch.full((2,), float(step)), "big": torch.arange(4096, dtype=torch.float64) + step},
            "trainer": {"stage": "adam"}, "points": {"interior": torch.zeros(3, 2)},
            "generator": torch.Generator().manual_seed(step).get_state(), "pde": "heat"}


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


def test_a_flipped_bit_in_the_newest_checkpoint_is_caught_and_skipped(tmp_path, caplog):
    """torch does not check the zip CRCs: a flipped bit in tensor data loads silently, so each
    checkpoint carries a checksum of its contents."""
    ckpts = CheckpointDir(tmp_path, keep=5)
    for step in (1, 2):
        ckpts.save(step, _state(step), loss=1.0)
    data = bytearray(ckpts.file(2).read_bytes())
    needle = (torch.arange(4096, dtype=torch.float64) + 2).numpy().tobytes()
    at = bytes(data).find(needle)
    assert at > 0
    data[at + 1000] ^= 0x04
    ckpts.file(2).write_bytes(bytes(data))
    flipped = torch.load(ckpts.file(2), weights_only=True)  # torch alone does not notice
    assert not torch.equal(flipped["model"]["big"], torch.arange(4096, dtype=torch.float64) + 2)
    state = ckpts.load_latest()
    assert state["step"] == 1
    assert "skipping checkpoint step-000000002.pt" in caplog.text and "checksum" in caplog.text
    with pytest.raises(io.RunDirError, match="do not match their checksum"):
        io.load_checkpoint(ckpts.file(2))


@pytest.mark.parametrize("key", ["generator", "points", "model", "trainer", "pde"])
def test_a_newest_checkpoint_missing_a_key_is_skipped(key, tmp_path, caplog):
    ckpts = CheckpointDir(tmp_path, keep=5)
    ckpts.save(1, _state(1), loss=1.0)
    ckpts.save(2, {k: v for k, v in _state(2).items() if k != key}, loss=1.0)
    assert ckpts.load_latest()["step"] == 1
    assert f"lacks {key}" in caplog.text


def test_files_follow_the_umask_and_killed_writes_are_cleared(tmp_path):
    old = os.umask(0o022)
    try:
        path = io.write_metrics(tmp_path, {"rel_l2": 1.0})
        ckpt = CheckpointDir(tmp_path / "c").save(1, _state(1))
        assert path.stat().st_mode & 0o777 == 0o644 and ckpt.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert io.write_metrics(tmp_path, {"rel_l2": 1.0}).stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    stale = [tmp_path / ".history.csv.abc123.tmp", tmp_path / "c" / ".step-000000002.pt.xyz.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    removed = io.remove_stale_temporaries(tmp_path) + io.remove_stale_temporaries(tmp_path / "c")
    assert sorted(removed) == sorted(stale) and not any(p.exists() for p in stale)
    assert (tmp_path / "metrics.json").exists() and ckpt.exists()
