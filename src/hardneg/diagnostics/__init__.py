"""Diagnostics: the measures of negatives and models, which the drivers above them report.

- :mod:`~hardneg.diagnostics.fates`: where each hidden positive ended among a query's candidates, and the Wilson interval;
- :mod:`~hardneg.diagnostics.hardness`: rank and score of chosen negatives under a model (hardness, staleness);
- :mod:`~hardneg.diagnostics.evaluate`: nDCG@10, Recall@100, MRR@10 of a model on a BEIR split.
"""
