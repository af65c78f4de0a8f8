"""The seed papers reproduced: their published figures (`published.csv`) and claims
(`claims.toml`), each set beside the committed cells that measure it (`compare`, `claims`), with
reviewed reasons for every deviation (`deviations`) and the README block (`reproduction`).

May import: benchmark.reporting (statistics, README blocks), benchmark.execution and below; not
benchmark.performance.
"""
