"""The private internals keras-fcn relies on are where the installed releases keep them."""

from __future__ import annotations

import json
import os

import pytest

from keras_fcn import compat


def test_every_private_internal_is_where_keras_fcn_expects_it():
    missing = compat.missing_internals()
    assert not missing, (
        "this KerasTuner or TensorFlow release moved internals keras_fcn/compat.py relies on: "
        + "; ".join(missing)
        + ". Pin the releases capped in setup.cfg, or adapt keras_fcn/compat.py."
    )


def test_the_check_notices_a_missing_internal(monkeypatch):
    import keras_tuner as kt

    monkeypatch.delattr(kt.Tuner, "_configure_tensorboard_dir")
    assert compat.missing_internals() == ["keras_tuner.Tuner._configure_tensorboard_dir"]


def test_keras_tuner_writes_its_json_state_whole_or_not_at_all(tmp_path, monkeypatch):
    from keras_tuner.src import utils

    compat.atomic_json_writes()
    compat.atomic_json_writes()  # twice: still one wrapper
    target = tmp_path / "oracle.json"
    target.write_text('{"old": true}')
    real_replace = os.replace

    def killed(src, dst):  # the process dies after writing the new state, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        utils.save_json(str(target), {"new": True})
    assert json.loads(target.read_text()) == {"old": True}  # the old state is intact
    monkeypatch.setattr(os, "replace", real_replace)
    utils.save_json(str(target), {"new": True})
    assert json.loads(target.read_text()) == {"new": True}
    assert getattr(utils.save_json, "_atomic", False)
