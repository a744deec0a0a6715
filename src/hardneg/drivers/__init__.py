"""Drivers: the functions that compose the mining stages into one call, above every stage and measure they call.

Which module is which driver (``mine``, the drop-in, the audit, the tuner, teacher training, ``hardneg eval``):
``docs/architecture.md`` (The layers). Training and the co-evolution loop are drivers too, one layer up: they
call these. Nothing below (the stages, ``mining``, ``engines``, ``diagnostics``) imports a driver.
"""
