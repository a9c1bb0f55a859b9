"""This repository's documents, written by ``python -m experiments.report`` from run records.

The library's tables and figures (:mod:`keras_fcn.reporting`) put together into what this
repository publishes, and the records it commits:

- :mod:`~experiments.reporting.archive`: the committed run records (``docs/records/``).
- :mod:`~experiments.reporting.studies`: the re-run studies' folders rebuilt from their records.
- :mod:`~experiments.reporting.glance`: the results at a glance (the README's table).
- :mod:`~experiments.reporting.best`: the best config of each family, compared.
- :mod:`~experiments.reporting.transfer`: configurations chosen on Fashion-MNIST, on MNIST.
- :mod:`~experiments.reporting.document`: ``report.md``, everything in one document.
- :mod:`~experiments.reporting.readme`: the README's results block.
- :mod:`~experiments.reporting.pages`: the results and study pages of ``docs/``.
- :mod:`~experiments.reporting.config_page`: the configs page of ``docs/``.
"""
