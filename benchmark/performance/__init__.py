"""Where the time goes: the deep detectors' speed and profile, the harness's own overhead and the
worker pool's scaling (`perf`, `perf_targets`), and the multi-view detectors' fit and score time
as N grows (`scaling`).

May import: benchmark.execution, benchmark.measure and below; not benchmark.reproduction.
"""
