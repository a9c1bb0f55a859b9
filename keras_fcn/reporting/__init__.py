"""Tables, figures and documents made from run records; nothing here trains.

One concept per module:

- :mod:`~keras_fcn.reporting.records`: reading the run records the commands left.
- :mod:`~keras_fcn.reporting.tables`: numbers as text and tables written as CSV and Markdown.
- :mod:`~keras_fcn.reporting.confusion`: what a confusion matrix says, as tables.
- :mod:`~keras_fcn.reporting.figures`: matplotlib figures and writing them.
- :mod:`~keras_fcn.reporting.glance`: the results at a glance (the README's table).
- :mod:`~keras_fcn.reporting.best`: the best config of each family, compared.
- :mod:`~keras_fcn.reporting.studies`: a re-run study's outputs.
- :mod:`~keras_fcn.reporting.document`: ``report.md``, everything in one document.
- :mod:`~keras_fcn.reporting.pages`: the results page of ``docs/``.
- :mod:`~keras_fcn.reporting.config_page`: the configs page of ``docs/``.

Functions return a DataFrame, a string or a matplotlib ``Figure``; those that write say so
in their name (``save_*``, ``write_*``).
"""
