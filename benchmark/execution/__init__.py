"""Running sweeps and keeping their results: the runner (expand, skip what is stored, run the
rest), executors (in-process, worker pool, Ray, limits), the SQLite results store, the
provenance of a sweep folder (hardware, drift, clean revision, manifest) and whether a committed
folder is still current (`freshness`).

May import: benchmark.measure and everything below it.
"""
