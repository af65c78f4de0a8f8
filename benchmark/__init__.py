"""The benchmark: sweep files, runner, metrics, results store and reports."""
