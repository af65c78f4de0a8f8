"""Harness version; the cell format is part of every cell's identity."""

__version__ = "0.1.0"
# Splits, injection, metrics and detector code are fingerprinted into each cell's id already
# (benchmark/measure/cell.py). Bump this when how one cell runs (benchmark/measure/cell.py itself) changes numbers.
# 2: cell keys hold every detector hyper-parameter, defaults included.
# 3: the identity covers data content, loader defaults, code fingerprints, threads and device;
#    detectors score blind views.
# 4: every view a detector gets (train, validation, test) comes in a seeded random order.
# 5: torch runs with deterministic algorithms; a warm-up fit precedes a detector's first cell.
# 6: renamed columns (kind -> anomaly_type, generator -> sampler, label -> display_name); detector code
#    moved into packages on TorchDetector.
CELL_FORMAT = "6"
