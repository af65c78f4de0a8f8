"""Everything drawn from stored cells without running anything: the per-sweep report (tables in
Markdown, LaTeX and CSV; ROC, type, CD and missing-modality figures), its statistics, the
leaderboard across sweep folders, the HTML results browser, and `check`, which re-runs the
default sweeps and compares their tables byte for byte.

May import: benchmark.execution (the store, the runner for `check`), benchmark.measure, and below.
"""
