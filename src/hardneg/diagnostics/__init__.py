"""Diagnostics: what measures negatives and models, above the mining and training it measures.

- :mod:`~hardneg.diagnostics.audit`: the false-negative rate of a mining configuration (hide a positive, mine,
  count how often it comes back as a negative);
- :mod:`~hardneg.diagnostics.hardness`: rank and score of chosen negatives under a model (hardness, staleness);
- :mod:`~hardneg.diagnostics.evaluate`: nDCG@10, Recall@100, MRR@10 of a model on a BEIR split;
- :mod:`~hardneg.diagnostics.fooling`: the fooling matrix (which sampler's negatives fool which model).
"""
