"""The record of one finished cell, as the measurement makes it and the results store keeps it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellResult:
    """Everything stored about one cell. Its fields are the database's columns and the CSV's,
    in this order; dict and list fields are stored as JSON text. Metric fields are None when
    the cell did not finish ok."""

    cell_id: str
    sweep: str | None = None
    dataset: str | None = None
    dataset_options: dict | None = None  # the sweep's loader options (with defaults: in `identity`)
    protocol: str | None = None  # injection or one_class
    normal_class: int | None = None
    anomaly_type: str | None = None  # the injected type ("all": equal parts), or "one_class"
    ratio: str | None = None
    sampler: str | None = None  # where anomalous values come from (uniform noise, held-out classes)
    holdout_classes: list | None = None
    swap_modality: str | None = None  # the modality cross-modal and mixed anomalies exchange (None: drawn per pair)
    dropped_modality: str | None = None  # an ablation cell: fitted and scored without this modality
    split: dict | None = None
    detector: str | None = None
    display_name: str | None = None  # how tables name the detector row
    family: str | None = None  # the detector's family, for grouped figures (declared by the detector)
    params: dict | None = None  # every hyper-parameter the detector ran with, defaults included
    seed: int | None = None
    threads: int | None = None  # the cell's thread setting (part of its identity)
    device: str | None = None
    uses_val_truth: bool | None = None  # fit saw labelled validation data (declared by the detector)
    transductive: bool | None = None  # fit only keeps reference data, the work is in score (declared)
    status: str | None = None
    error: str | None = None
    auc: float | None = None
    auprc: float | None = None
    threshold: float | None = None
    threshold_source: str | None = None
    detector_threshold: float | None = None
    own_fpr: float | None = None
    own_tpr: float | None = None
    fpr: float | None = None
    tpr: float | None = None
    accuracy: float | None = None
    precision: float | None = None
    f1: float | None = None
    precision_at_n: float | None = None
    recall_at_n: float | None = None
    val_auc: float | None = None
    detection_rate: dict | None = None
    missing: list | None = None  # test scored with a modality missing: modality, share, imputation, auc, auprc
    roc_test: list | None = None  # test TPR at the false positive rates of roc.GRID (figures without score files)
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    fit_s: float | None = None
    fit_s_per_epoch: float | None = None
    score_s_per_1k: float | None = None
    detector_s: float | None = None
    isolated: bool | None = None  # the cell ran alone in a fresh process (--isolate)
    fit_reused: bool | None = None  # its trained network came from a cell with the same training (fit_s excludes it)
    warmup_s: float | None = None  # the detector's one-off warm-up before this cell (first cell per process)
    peak_rss_mb: float | None = None  # the cell's peak above the process's RSS at its start
    rss_baseline_mb: float | None = None  # the process's RSS when the cell started
    peak_gpu_mb: float | None = None  # the cell's peak above the GPU memory allocated at its start
    torch_threads: int | None = None  # torch's thread count as measured in the process that ran it
    versions: dict | None = None
    git_rev: str | None = None
    harness_version: str | None = None
    data_sha256: str | None = None
    code_sha256: str | None = None
    identity: dict | None = None  # everything hashed into cell_id
    finished_at: str | None = None
