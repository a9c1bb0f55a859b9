"""Tables, figures and a study's outputs made from run records; nothing here trains.

One concept per module:

- :mod:`~keras_fcn.reporting.records`: reading the run records the commands left.
- :mod:`~keras_fcn.reporting.tables`: numbers as text and tables written as CSV and Markdown.
- :mod:`~keras_fcn.reporting.confusion`: what a confusion matrix says, as tables.
- :mod:`~keras_fcn.reporting.figures`: matplotlib figures and writing them.
- :mod:`~keras_fcn.reporting.studies`: a re-run study's outputs in its results folder.
- :mod:`~keras_fcn.reporting.differences`: where a study differs from its published rows, and why.
- :mod:`~keras_fcn.reporting.claims_table`: the published claims judged, as a table.

The README, the pages of ``docs/``, ``report.md`` and the committed records are the report
command's, beside the commands (docs/commands.md). Functions return a DataFrame, a string or
a matplotlib ``Figure``; those that write say so in their name (``save_*``, ``write_*``).
"""
