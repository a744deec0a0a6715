"""Drivers: the functions that compose the mining stages into one call, above every stage and measure they call.

- :mod:`~hardneg.drivers.mine`: :func:`hardneg.mine` (load, choose the filters if ``preset="auto"``, mine, audit if asked);
- :mod:`~hardneg.drivers.compat`: the sentence-transformers drop-in ``mine_hard_negatives`` (with ``compat_params``,
  ``compat_rows`` and ``compat_stream``), which calls :func:`hardneg.mine`;
- :mod:`~hardneg.drivers.audit`: the false-negative rate of a mining configuration (hide a positive, mine, count how
  often it comes back as a negative);
- :mod:`~hardneg.drivers.tune`: ``--preset auto``, the audit of a grid of filter settings through the one rule.

Training, teacher training and the co-evolution loop are drivers too, one layer up: they call these. Nothing below
(the stages, ``mining``, ``engines``, ``diagnostics``) imports a driver.
"""
