"""What a cell is and how one is measured: the sweep file (`config`), a cell's identity and its
one pass from prepared splits to a record (`cell`), blind scoring (`evaluate`), metrics and ROC
curves (`metrics`, `roc`), modality robustness (`robustness`), memory peaks (`memory`), the
fingerprints an id is made of (`identity`) and the record itself (`result`).

May import: the core, mmadbench.datasets, mmadbench.detectors. Nothing here knows about stores,
executors or reports. `evaluate`, `metrics` and `robustness` are inside every cell's code
fingerprint: a change there makes new cells.
"""
