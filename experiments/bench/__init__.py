"""The benchmark behind ``python -m experiments.benchmark``: its cases, how one is measured in
a process of its own, the machine's limit it is compared with, the PyTorch reference loop
and the table that puts them together.

- :mod:`.cases`: what is measured (model, framework, settings, environment);
- :mod:`.child`: what each process the command starts measures, written as JSON;
- :mod:`.measure`: one case in this process (epoch times, test accuracy, peak memory);
- :mod:`.memory`: resident memory of this process, its own peak only;
- :mod:`.limits`: a network's training FLOPs, the matrix multiplications of its shapes timed
  in float32 and bfloat16, and the CPU's instruction-set flags;
- :mod:`.table`: median ratios to the PyTorch reference with their spread, GFLOP/s and the
  fraction of the limit;
- :mod:`.trials`: the fixed cost and memory of tuning trials;
- :mod:`.page` and :mod:`.compared`: ``docs/speed.md`` from the committed runs, and its
  settings compared on full data;
- :mod:`.torch_reference`: the plain PyTorch loop (PyTorch is optional).

Importing this package imports neither TensorFlow nor PyTorch.
"""
