"""Harness version; part of every cell's key, so a change in how cells are computed re-runs them."""

__version__ = "0.1.0"
# Bump when injection, splits or metrics change the numbers a cell produces.
# 2: cell keys hold every detector hyper-parameter, defaults included.
CELL_FORMAT = "2"
