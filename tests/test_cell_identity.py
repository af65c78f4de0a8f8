"""Cell integrity: blind scoring, read-only inputs, and a cell identity that covers everything
that changes a cell's numbers (data, loader defaults, detector defaults and code, threads)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import make_toy
from test_datasets_files import _idx, _mnist_tree

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.cell import DataCache, expand
from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.benchmark.reporting.report import write_report
from mmadbench.errors import ConfigError

PLUGINS = Path(__file__).resolve().parent / "plugins"


def _sweep(dataset: str, detectors: list[str], name: str = "t", extra: str = "") -> str:
    dets = "".join(f'[[detectors]]\nname = "{d}"\n' for d in detectors)
    return (
        f'name = "{name}"\ndevice = "cpu"\n{extra}[[datasets]]\nname = "{dataset}"\n'
        f'[anomalies]\ntypes = ["all"]\nratios = ["1:1"]\n{dets}'
    )


def _ids(text: str, root=None) -> set[str]:
    return {c.cell_id for c in expand(parse_sweep(text), DataCache(str(root) if root else None))}


def test_a_detector_that_reads_the_answer_gets_an_error_naming_the_hidden_fields(tmp_path, registry):
    registry.load_plugin_file(PLUGINS / "cheating.py")
    summary = run_sweep(parse_sweep(_sweep("digits", ["test-cheat", "knn"])), out=tmp_path)
    with ResultsStore(summary.out) as store:
        rows = store.frame().set_index("detector")
    assert rows.loc["test-cheat", "status"] == "error" and pd_isna(rows.loc["test-cheat", "auc"])
    assert "anomaly" in rows.loc["test-cheat", "error"] and "blind" in rows.loc["test-cheat", "error"]
    assert rows.loc["knn", "status"] == "ok"


def pd_isna(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def test_a_detector_cannot_write_to_its_input(tmp_path, registry):
    registry.load_plugin_file(PLUGINS / "cheating.py")
    summary = run_sweep(parse_sweep(_sweep("digits", ["test-writer", "knn"])), out=tmp_path)
    with ResultsStore(summary.out) as store:
        rows = store.frame().set_index("detector")
    assert rows.loc["test-writer", "status"] == "error" and "read-only" in rows.loc["test-writer", "error"]
    assert rows.loc["knn", "status"] == "ok"


def test_fit_sees_only_what_the_detector_declares(tmp_path, registry):
    """Training labels need requires_labels; validation truth needs uses_validation_truth."""
    from mmadbench.detectors import Capabilities, Detector, register_detector

    class Peek(Detector):
        def __init__(self):
            pass

        def score(self, data):
            return np.zeros(len(data))

    @register_detector
    class Undeclared(Peek):
        name = "peek-undeclared"

        def fit(self, train, val=None):
            assert train.labels is None and train.texts is None and not train.extras
            assert val.labels is None and val.anomaly is None and val.anomaly_type is None
            return self

    @register_detector
    class Declared(Peek):
        name = "peek-declared"
        capabilities = Capabilities(requires_labels=True, uses_validation_truth=True)

        def fit(self, train, val=None):
            assert train.labels is not None and train.texts is None
            assert val.anomaly is not None and val.anomaly.any() and val.labels is not None
            return self

    summary = run_sweep(parse_sweep(_sweep("digits", ["peek-undeclared", "peek-declared"])), out=tmp_path)
    with ResultsStore(summary.out) as store:
        rows = store.frame().set_index("detector")
    assert rows.status.to_dict() == {"peek-declared": "ok", "peek-undeclared": "ok"}, rows.error.to_dict()
    assert rows.uses_val_truth.to_dict() == {"peek-declared": 1, "peek-undeclared": 0}


def test_fingerprints_follow_modality_order_and_skip_type_checking_imports():
    import ast

    from mmadbench.benchmark.measure import identity

    data = make_toy(n=20)
    swapped = type(data)({m: data[m] for m in reversed(data.names)}, dict(data.kinds), data.labels)
    assert identity.data_fingerprint(data) != identity.data_fingerprint(swapped)
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mmadbench.benchmark.execution.runner\nimport mmadbench.errors\n"
    found = identity._imported_modules(ast.parse(source), "mmadbench.x", False)
    assert "mmadbench.errors" in found and "mmadbench.benchmark.execution.runner" not in found


def test_require_clean_refuses_a_plugin_git_does_not_track(tmp_path):
    from mmadbench.benchmark.execution import provenance
    from mmadbench.benchmark.measure.identity import git_revision

    if git_revision().endswith("+dirty") or git_revision() == "unknown":
        pytest.skip("needs a clean git checkout")
    plugin = tmp_path / "mine.py"
    plugin.write_text("")
    with pytest.raises(ConfigError, match="not a committed file"):
        provenance.require_clean_revision([str(plugin)])
    assert provenance.require_clean_revision([str(PLUGINS / "cheating.py")]) == git_revision()


def test_blind_view_keeps_modalities_only():
    data = make_toy(n=40)
    injected = data.with_anomalies(
        {m: data[m] for m in data.names},
        np.arange(40) % 2 == 0,
        np.where(np.arange(40) % 2 == 0, "attribute", "normal"),
    )
    view = injected.blind()
    assert view.labels is None and view.anomaly is None and view.anomaly_type is None and view.texts is None
    assert view.names == data.names and len(view) == 40 and not view.extras
    assert view.subset(np.arange(5)).labels is None
    assert injected.blind(labels=True).labels is not None
    with pytest.raises(ValueError, match="read-only"):
        view["image"][0] = 0


def test_adding_a_file_to_the_data_root_makes_new_cells(tmp_path):
    raw = _mnist_tree(tmp_path, n=60)
    text = _sweep("mnist", ["knn"])
    before = _ids(text, tmp_path)
    assert before == _ids(text, tmp_path)
    _idx(raw / "train-images-idx3-ubyte.gz", np.full((40, 28, 28), 7))
    _idx(raw / "train-labels-idx1-ubyte.gz", np.arange(40) % 10)
    assert before.isdisjoint(_ids(text, tmp_path))


def test_a_changed_loader_default_makes_new_cells(monkeypatch):
    from mmadbench.datasets import registry as datasets

    monkeypatch.setattr(datasets, "_DATASETS", dict(datasets._DATASETS))

    def register(default: int):
        def loader(root=None, caption_seed: int = default):
            return make_toy(n=80)  # the same arrays either way: only the option differs

        datasets._DATASETS.pop("toy-loader", None)
        datasets.register_dataset("toy-loader", "test data")(loader)

    text = _sweep("toy-loader", ["knn"])
    register(0)
    first = _ids(text)
    register(1)
    assert first.isdisjoint(_ids(text))


def test_a_changed_detector_default_makes_new_cells_in_a_store(tmp_path, registry):
    from mmadbench.detectors import Detector, register_detector

    def register(default: float):
        class Shifted(Detector):
            name = "shifted"

            def __init__(self, shift: float = default):
                self.shift = shift

            def fit(self, train, val=None):
                return self

            def score(self, data):
                return np.linalg.norm(data["text"], axis=1) + self.shift

        registry.unregister_detector("shifted")
        register_detector(Shifted)

    sweep = parse_sweep(_sweep("digits", ["shifted"]))
    register(0.0)
    assert run_sweep(sweep, out=tmp_path).ran == 1
    assert run_sweep(sweep, out=tmp_path).ran == 0  # nothing changed: resumed
    register(1.0)
    again = run_sweep(sweep, out=tmp_path)
    assert again.ran == 1 and again.already_done == 0
    with ResultsStore(again.out) as store:
        params = [json.loads(p) for p in store.frame().params]
    assert sorted(p["shift"] for p in params) == [0.0, 1.0]  # resolved defaults are stored


PLUGIN_CODE = '''
import numpy as np
from mmadbench import Detector, register_detector

OFFSET = {offset}


@register_detector
class Edited(Detector):
    """{doc}"""
    name = "edited"

    def __init__(self):
        pass

    def fit(self, train, val=None):
        return self

    def score(self, data):
        return np.linalg.norm(data["text"], axis=1) + OFFSET
'''


def test_a_changed_detector_code_makes_new_cells_and_a_docstring_does_not(tmp_path, registry):
    plugin = tmp_path / "edited.py"

    def load(offset: int, doc: str) -> None:
        plugin.write_text(PLUGIN_CODE.format(offset=offset, doc=doc))
        registry.unregister_detector("edited")
        registry.load_plugin_file(plugin)

    text = _sweep("digits", ["edited"])
    load(0, "first words")
    first = _ids(text)
    load(0, "other words")  # prose only
    assert _ids(text) == first
    load(1, "other words")  # a module constant
    assert first.isdisjoint(_ids(text))


def test_thread_count_is_part_of_the_identity():
    one = _ids(_sweep("digits", ["knn"]))
    two = _ids(_sweep("digits", ["knn"], extra="threads = 2\n"))
    assert one.isdisjoint(two)
    with pytest.raises(ConfigError, match="threads"):
        parse_sweep(_sweep("digits", ["knn"], extra="threads = 0\n"))


def test_resuming_with_other_library_versions_stops_unless_accepted(tmp_path):
    first = run_sweep(parse_sweep(_sweep("digits", ["knn"])), out=tmp_path)
    db = first.out / "results.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("""UPDATE cells SET versions = '{"numpy": "0.0"}'""")
    grown = parse_sweep(_sweep("digits", ["knn", "pca"]))
    with pytest.raises(ConfigError, match=r"numpy: 0\.0 -> .*--rerun.*--out.*--accept-drift"):
        run_sweep(grown, out=tmp_path)
    assert run_sweep(grown, out=tmp_path, accept_drift=True).ran == 1
    with ResultsStore(first.out) as store:
        assert any("numpy: 0.0" in d for d in store.runs()[-1]["accepted_drift"])


def test_rows_record_their_identity_threads_and_provenance(tmp_path):
    summary = run_sweep(
        parse_sweep(
            _sweep("digits", ["knn", "tnbcl"]).replace('name = "tnbcl"', 'name = "tnbcl"\nparams = { epochs = 1 }')
        ),
        out=tmp_path,
    )
    with ResultsStore(summary.out) as store:
        df = store.frame().set_index("detector")
        assert store.current_ids() == set(df.cell_id)
    assert (df.threads == 1).all() and (df.torch_threads == 1).all()
    assert df.loc["tnbcl", "uses_val_truth"] == 1 and df.loc["knn", "uses_val_truth"] == 0
    identity = json.loads(df.loc["knn", "identity"])
    assert identity["dataset"]["options"]["caption_seed"] == 0  # loader defaults included
    assert identity["detector"]["params"] == {"model_params": None}
    tnbcl = json.loads(df.loc["tnbcl", "identity"])["detector"]["params"]
    assert tnbcl["epochs"] == 1 and tnbcl["k"] == 5  # the override and the defaults it ran with
    write_report(summary.out)
    manifest = json.loads((summary.out / "manifest.json").read_text())
    assert manifest["cells"] == 2 and manifest["git_revisions"] == sorted(set(df.git_rev))
    assert manifest["datasets"]["digits"]["sha256"] == df.loc["knn", "data_sha256"]
    assert len(manifest["runs"]) == 1 and manifest["runs"][0]["threads"] == 1


def test_sample_order_tells_a_detector_nothing(tmp_path, registry, monkeypatch):
    """Sources sorted by class put the one-class protocol's normal class in one block; every view
    comes shuffled, so a detector that scores by position is at chance."""
    from mmadbench.datasets import registry as datasets
    from mmadbench.detectors import Detector, register_detector

    @register_detector
    class ByPosition(Detector):
        name = "by-position"

        def __init__(self):
            pass

        def fit(self, train, val=None):
            return self

        def score(self, data):
            return np.arange(len(data), dtype=float)

    def sorted_toy(root=None):
        data = make_toy(n=600, classes=3)
        return data.subset(np.argsort(data.labels, kind="stable"))

    monkeypatch.setattr(datasets, "_DATASETS", dict(datasets._DATASETS))
    datasets.register_dataset("sorted-toy", "class-sorted test data")(sorted_toy)
    text = (
        'name = "order"\nprotocol = "one_class"\n[[datasets]]\nname = "sorted-toy"\n'
        '[one_class]\nclasses = [0, 2]\n[[detectors]]\nname = "by-position"\n'
    )
    summary = run_sweep(parse_sweep(text), out=tmp_path)
    with ResultsStore(summary.out) as store:
        aucs = store.frame().auc
    assert len(aucs) == 2 and (abs(aucs - 0.5) < 0.1).all()  # unshuffled: 1.0 for class 2, 0.0 for class 0


def test_a_module_counts_by_its_content_not_where_it_lives():
    """Moving a module (its imports of this project change, its code does not) changes no cell id;
    changing what it does does."""
    import ast

    from mmadbench.benchmark.measure.identity import module_digest

    here = (
        "from mmadbench.benchmark.measure.metrics import auc\nimport numpy as np\n\n\n"
        "def f(x):\n    from .robustness import g\n    return auc(np.asarray(x)) + g()\n"
    )
    moved = (
        '"""Now in a subpackage."""\nfrom .metrics import auc\nimport numpy as np\n\n\n'
        "def f(x):\n    from mmadbench.benchmark.cells.robustness import g\n    return auc(np.asarray(x)) + g()\n"
    )
    assert module_digest(ast.parse(here)) == module_digest(ast.parse(moved))
    assert module_digest(ast.parse(here.replace("+ g()", "- g()"))) != module_digest(ast.parse(here))
    assert module_digest(ast.parse('"""Only prose and re-exports."""\nfrom .cell import Cell\n')) == ""
    # importing another function under the same local name is another computation
    first = "from mmadbench.benchmark.measure.metrics import compute as f\nx = f(1)\n"
    other = "from mmadbench.benchmark.measure.metrics import own_threshold_metrics as f\nx = f(1)\n"
    assert module_digest(ast.parse(first)) != module_digest(ast.parse(other))
