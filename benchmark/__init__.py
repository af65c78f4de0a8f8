"""The harness around the detectors, one subpackage per concern. Dependencies point one way, from
the data up to the command line (checked by tests/test_layers.py over the import graph):

    mmadbench.errors, .version, .device   (core)
    -> mmadbench.datasets                  (sources, splits, injection, encoders)
    -> mmadbench.detectors                 (the Detector contract and every detector)
    -> benchmark.measure                   (what a cell is and how one is measured)
    -> benchmark.execution                 (running sweeps and keeping their results)
    -> benchmark.reporting                 (tables, figures, leaderboard, browser: from stored cells)
    -> benchmark.reproduction | benchmark.performance   (peers: neither imports the other)
    -> mmadbench.cli, mmadbench.testing    (entry points)

A module may import its own subpackage and any layer below; no module imports another
subpackage's private (underscore) names.
"""
