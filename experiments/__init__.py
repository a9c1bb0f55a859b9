"""Thin entry points, one per job: ``python -m experiments.NAME --help``."""

import os

# TensorFlow's C++ start-up messages drown the commands' own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
