"""A command prints its own lines only: no start-up line of TensorFlow or absl, on stdout or
stderr, even where ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them; ``TF_CPP_MIN_LOG_LEVEL=0``
brings them back."""

from __future__ import annotations

import os
import re
import subprocess
import sys

# the marks of TensorFlow's and absl's lines: absl's native prefix (I0000 00:00:...,
# W..., E...), its warning before InitializeLog, Python's absl and TensorFlow loggers
FOREIGN = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:|absl::InitializeLog|^WARNING:absl:|^WARNING:tensorflow:|"
    r"oneDNN|cpu_feature_guard|TensorFlow binary is optimized",
    re.MULTILINE,
)


def _env(level: str) -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": level}


def _import_tensorflow(level: str, quiet: bool) -> str:
    """What importing TensorFlow writes to stderr, with or without the commands' set-up."""
    code = "import tensorflow"
    if quiet:
        code = "from keras_fcn.quiet import quiet_start_up; quiet_start_up(); " + code
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(level), capture_output=True, text=True, check=True
    )
    return done.stderr


def test_a_quick_run_prints_no_line_of_tensorflow_or_absl(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.fashion_dense", "--quick", "--out", str(tmp_path)],
        env=_env("3"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "test accuracy" in done.stdout  # the command's own lines are all there
    assert not FOREIGN.search(done.stdout), done.stdout[:2000]
    assert not FOREIGN.search(done.stderr), done.stderr[:2000]
    # TF_CPP_MIN_LOG_LEVEL=0: the same lines as without the set-up
    plain, shown = _import_tensorflow("0", quiet=False), _import_tensorflow("0", quiet=True)
    assert len(FOREIGN.findall(shown)) == len(FOREIGN.findall(plain)), (plain, shown)
    assert not FOREIGN.search(_import_tensorflow("2", quiet=True))
