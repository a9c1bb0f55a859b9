import keras
import keras_tuner as kt
import pytest

from keras_fcn import hardware
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import Param, Space, declare_space
from keras_fcn.train import train_record
from keras_fcn.tuning import FamilyHyperModel

CPUINFO = """processor\t: 0
model name\t: Some CPU @ 2.00GHz
flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 amx_tile amx_bf16
processor\t: 1
flags\t\t: fpu
"""


def test_flags_and_model_are_read_from_the_first_cpu(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    flags = hardware.read_cpu_flags(str(path))
    assert {"avx2", "amx_bf16"} <= flags and "fpu" in flags and len(flags) == 8
    assert hardware.cpu_model(str(path)) == "Some CPU @ 2.00GHz"
    assert hardware.read_cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_bfloat16_instructions():
    policy, why = hardware.resolve_precision("auto", frozenset({"avx2", "avx512_bf16"}))
    assert (policy, why) == ("mixed_bfloat16", "auto: the CPU has avx512_bf16")
    policy, why = hardware.resolve_precision("auto", frozenset({"avx2", "avx512f"}))
    assert policy == "float32" and "none of avx512_bf16, amx_bf16" in why
    # a precision that is set is used as it is, whatever the CPU
    assert hardware.resolve_precision("float32", frozenset({"amx_bf16"}))[0] == "float32"
    assert hardware.resolve_precision("mixed_bfloat16", frozenset())[0] == "mixed_bfloat16"


def test_products_are_left_unfused_only_in_bfloat16_on_a_cpu_with_amx():
    amx = frozenset({"avx512_bf16", "amx_tile", "amx_bf16"})
    fuse, why = hardware.fuse_ops("bfloat16", flags=amx)
    assert not fuse and "amx_bf16" in why
    assert hardware.fuse_ops("float32", flags=amx)[0]
    assert hardware.fuse_ops("bfloat16", convolutional=True, flags=amx)[0]
    assert hardware.fuse_ops("bfloat16", flags=frozenset({"avx512_bf16"}))[0]
    assert hardware.fuse_ops("bfloat16", flags=frozenset())[0]


def test_a_convolutional_network_keeps_the_fusion_in_bfloat16(monkeypatch):
    from cnn.family import LENET
    from keras_fcn.compiled import build_compiled
    from keras_fcn.hardware import fusion_of

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    for family, fused in ((LENET, True), (DENSE, False)):
        settings = {"precision": "mixed_bfloat16"}
        settings.update({"hidden": (16,)} if family is DENSE else {})
        model = build_compiled(family, family.run_config(settings))
        assert model.compute_dtype == "bfloat16" and fusion_of(model)[0] is fused


def test_the_fusion_can_be_set_by_the_environment(monkeypatch):
    amx = frozenset({"amx_bf16"})
    monkeypatch.setenv(hardware.FUSION_VAR, "on")
    assert hardware.fuse_ops("bfloat16", flags=amx) == (True, "KERAS_FCN_TF_FUSION=on")
    monkeypatch.setenv(hardware.FUSION_VAR, "OFF")
    assert not hardware.fuse_ops("float32", flags=frozenset())[0]
    monkeypatch.setenv(hardware.FUSION_VAR, "auto")
    assert not hardware.fuse_ops("bfloat16", flags=amx)[0]
    monkeypatch.setenv(hardware.FUSION_VAR, "maybe")
    with pytest.raises(ConfigError, match="KERAS_FCN_TF_FUSION='maybe': use on, off or auto"):
        hardware.fuse_ops("bfloat16", flags=amx)


def test_the_record_says_which_precision_trained_and_why(fashion_small, monkeypatch):
    settings = {"hidden": (32,), "epochs": 1, "train_limit": 500}
    record = train_record(
        DENSE, DENSE.run_config({**settings, "precision": "float32"}), fashion_small
    )
    assert record.precision == "float32"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    record = train_record(DENSE, DENSE.run_config({**settings, "precision": "auto"}), fashion_small)
    assert record.precision == (
        "mixed_bfloat16 (auto: the CPU has amx_bf16); products unfused "
        "(bfloat16 dense layers on a CPU with amx_bf16: unfused products use AMX)"
    )
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    record = train_record(DENSE, DENSE.run_config({**settings, "precision": "auto"}), fashion_small)
    assert record.precision == "mixed_bfloat16 (auto: the CPU has avx512_bf16)"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    record = train_record(DENSE, DENSE.run_config({**settings, "precision": "auto"}), fashion_small)
    assert record.precision.startswith("float32 (auto: the CPU has none")


def test_a_trial_builds_its_network_in_the_precision_it_asks_for():
    space = Space((Param("precision", ("float32", "mixed_bfloat16"), "float32"),))
    hypermodel = FamilyHyperModel(DENSE, DENSE.run_config({"hidden": (16,)}), space)
    for precision, compute in (("float32", "float32"), ("mixed_bfloat16", "bfloat16")):
        hp = kt.HyperParameters()
        declare_space(space, hp)
        hp.values["precision"] = precision
        model = hypermodel.build(hp)
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        assert {layer.compute_dtype for layer in dense[:-1]} == {compute}
    assert keras.mixed_precision.global_policy().name == "float32"  # left as it was


def test_the_small_batch_path_is_float32_with_xla_only_where_it_was_measured(monkeypatch):
    from keras_fcn.compiled import use_jit

    measured = frozenset({"avx2", "avx512_bf16"})  # bfloat16 instructions, no AMX
    amx = frozenset({"avx512_bf16", "amx_tile", "amx_bf16"})
    assert hardware.small_batch_path(32, measured) and hardware.small_batch_path(8, measured)
    assert not hardware.small_batch_path(64, measured)  # larger batches keep bfloat16
    assert not hardware.small_batch_path(32, amx)  # not measured on AMX
    assert not hardware.small_batch_path(32, frozenset({"avx2"}))  # nor without bfloat16
    assert not hardware.small_batch_path(None, measured)
    policy, why = hardware.resolve_precision("auto", measured, batch_size=32)
    assert (policy, why) == ("float32", "auto: batch 32 on a CPU with avx512_bf16 and no AMX")
    assert hardware.resolve_precision("auto", measured, batch_size=64)[0] == "mixed_bfloat16"
    assert hardware.resolve_precision("mixed_bfloat16", measured, 32)[0] == "mixed_bfloat16"

    # XLA where auto: on the path, in float32, without dropout
    monkeypatch.setattr(hardware, "cpu_flags", lambda: measured)
    model = DENSE.build(DENSE.run_config({"hidden": (16,)}).model)
    dropped = DENSE.build(DENSE.run_config({"hidden": (16,), "dropout": 0.2}).model)

    def train(**settings):
        return DENSE.run_config({"hidden": (16,), **settings}).train

    assert DENSE.run_config().train.jit_compile == "auto"
    assert use_jit(model, train(batch_size=32))
    assert not use_jit(dropped, train(batch_size=32))
    assert not use_jit(model, train(batch_size=64))
    assert not use_jit(model, train(batch_size=32, precision="mixed_bfloat16"))
    assert not use_jit(model, train(batch_size=32, jit_compile="off"))
    monkeypatch.setattr(hardware, "cpu_flags", lambda: amx)
    assert not use_jit(model, train(batch_size=32))


def test_a_run_id_resolves_auto_at_its_own_batch(monkeypatch):
    from keras_fcn.identity import result_settings

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    small = DENSE.run_config({"batch_size": 32}).to_dict()
    large = DENSE.run_config({"batch_size": 512}).to_dict()
    assert result_settings(small)["train"]["precision"] == "float32"
    assert result_settings(large)["train"]["precision"] == "mixed_bfloat16"
    assert "jit_compile" not in result_settings(small)["train"]  # a speed setting
