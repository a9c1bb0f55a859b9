"""The private internals keras-fcn relies on are where the installed releases keep them."""

from __future__ import annotations

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
