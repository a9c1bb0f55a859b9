"""Published studies: their CSVs, their protocols re-run table by table, and the registry."""

from __future__ import annotations

import subprocess
import sys

# the registry


def test_finding_the_studies_imports_neither_cnn_nor_tensorflow():
    code = (
        "import sys; from keras_fcn.replication import all_studies; all_studies(); "
        "print(sorted(m for m in ('cnn', 'experiments', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# the example study of docs/published-studies.md, end to end through the command
