"""Sweep files: expansion, stable cell ids, and one-line errors for malformed input."""

from pathlib import Path

import pytest

from mmadbench.benchmark.measure.cell import DataCache, expand
from mmadbench.benchmark.measure.config import load_sweep, parse_sweep
from mmadbench.errors import ConfigError, RegistryError


def cells_of(sweep):
    return expand(sweep, DataCache(None))


GOOD = """
name = "t"
seeds = [0, 1]
[[datasets]]
name = "digits"
[anomalies]
types = ["attribute", "all"]
ratios = ["9:1", "1:1"]
[[detectors]]
name = "knn"
[[detectors]]
name = "iforest"
params = { model_params = { n_estimators = 50 } }
"""


def test_expand_and_ids_are_stable():
    cells = cells_of(parse_sweep(GOOD))
    assert len(cells) == 1 * 2 * 2 * 2 * 2
    ids = [c.cell_id for c in cells]
    assert len(set(ids)) == len(ids)
    assert ids == [c.cell_id for c in cells_of(parse_sweep(GOOD))]
    changed = cells_of(parse_sweep(GOOD.replace("n_estimators = 50", "n_estimators = 60")))
    assert set(ids) != {c.cell_id for c in changed}


def test_star_expands_to_every_registered_detector():
    from mmadbench.detectors import list_detectors

    cells = cells_of(parse_sweep('[[datasets]]\nname="digits"\n[[detectors]]\nname="*"\n'))
    assert {c.detector.name for c in cells} == set(list_detectors())


@pytest.mark.parametrize(
    "text,match",
    [
        ("name = [", "not valid TOML"),
        ("colour = 1\n[[datasets]]\nname='digits'", "unknown key"),
        ("[[datasets]]\nname='digits'\n[anomalies]\nratios=['9-1']", "ratio '9-1'"),
        ("[[datasets]]\nname='digits'\n[anomalies]\ntypes=['odd']", "unknown anomaly type 'odd'"),
        ("[[datasets]]\nname='digits'\n[split]\ntrain=0.9", "split fractions"),
        ("[[datasets]]\nname='digits'\nseeds=['a']", "unknown key"),
        ("seeds=['a']\n[[datasets]]\nname='digits'", "seeds must be integers"),
        ("", "datasets must be a non-empty list"),
        ("device='tpu'\n[[datasets]]\nname='digits'", "device must be"),
    ],
)
def test_malformed_sweeps(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_sweep(text)


def test_unknown_detector_fails_before_running():
    with pytest.raises(RegistryError, match="unknown detector 'nope'"):
        cells_of(parse_sweep("[[datasets]]\nname='digits'\n[[detectors]]\nname='nope'\n"))


def test_two_display_names_of_one_detector_are_two_cells():
    text = (
        '[[datasets]]\nname="digits"\n[anomalies]\ntypes=["all"]\n'
        '[[detectors]]\nname="knn"\ndisplay_name="A"\n[[detectors]]\nname="knn"\ndisplay_name="B"\n'
    )
    cells = cells_of(parse_sweep(text))
    assert len({c.cell_id for c in cells}) == 2


def test_several_anomaly_tables_and_composition_ratios():
    text = (
        '[[datasets]]\nname="digits"\n[[anomalies]]\ntypes=["attribute","all"]\nratios=["1:1"]\n'
        '[[anomalies]]\ntypes=["all"]\nratios=["1:1","2/5/8%"]\n[[detectors]]\nname="knn"\n'
    )
    settings = [(c.protocol.anomaly_type, c.protocol.ratio) for c in cells_of(parse_sweep(text))]
    assert settings == [("attribute", "1:1"), ("all", "1:1"), ("all", "2/5/8%")]  # duplicates merged
    with pytest.raises(ConfigError, match="anomaly type 'all'"):
        parse_sweep(text.replace('types=["all"]\nratios=["1:1","2/5/8%"]', 'types=["mixed"]\nratios=["2/5/8%"]'))


ONE_CLASS = (
    'protocol="one_class"\n[[datasets]]\nname="digits"\n[one_class]\nclasses=[0, 3]\nanomaly_share=0.5\n'
    '[[detectors]]\nname="knn"\n[[report.tables]]\nname="table1"\ndisplay_names=["knn"]\n'
)


def test_one_class_sweep_expands_one_setting_per_class():
    sweep = parse_sweep(ONE_CLASS)
    cells = cells_of(sweep)
    assert sweep.protocol == "one_class" and [c.protocol.normal_class for c in cells] == [0, 3]
    assert sweep.report_tables[0].display_names == ("knn",)
    assert all(c.key["protocol"] == "one_class" for c in cells)


@pytest.mark.parametrize(
    "text,match",
    [
        (ONE_CLASS.replace("classes=[0, 3]\n", ""), "classes"),
        (ONE_CLASS.replace('protocol="one_class"', 'protocol="odd"'), "protocol must be"),
        (ONE_CLASS.replace('protocol="one_class"\n', ""), "needs protocol"),
        (ONE_CLASS.replace("anomaly_share=0.5", "anomaly_share=1.5"), "anomaly_share"),
        (ONE_CLASS.replace('display_names=["knn"]', "colour=1"), "report.tables"),
    ],
)
def test_malformed_one_class_sweeps(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_sweep(text)


def test_a_changed_detector_default_makes_new_cells(registry):
    """Cells store every hyper-parameter, so results of an older default are not reused."""
    from mmadbench.detectors import Detector, register_detector

    def make(default):
        class Tunable(Detector):
            name = "tunable"

            def __init__(self, width: int = default, random_state: int | None = None):
                self.width = width
                self.random_state = random_state

            def fit(self, train, val=None):
                return self

            def score(self, data):
                return data.labels * 0.0

        registry.unregister_detector("tunable")
        register_detector(Tunable)

    text = '[[datasets]]\nname="digits"\n[anomalies]\ntypes=["all"]\n[[detectors]]\nname="tunable"\n'
    make(1)
    first = cells_of(parse_sweep(text))[0]
    assert first.key["detector"]["params"] == {"width": 1}
    first_id = first.cell_id
    make(2)
    assert cells_of(parse_sweep(text))[0].cell_id != first_id


def test_smoke_runs_the_first_seed_with_fast_parameters_under_its_own_name():
    from mmadbench.benchmark.execution.runner import smoke

    config = parse_sweep(
        'name = "s"\nseeds = [3, 4, 5]\n[[datasets]]\nname = "digits"\n[anomalies]\ntypes = ["all"]\n'
        'ratios = ["1:1"]\n[[detectors]]\nname = "tnbcl"\nparams = { epochs = 5 }\n[[detectors]]\nname = "autoencoder"\n'
    )
    quick = smoke(config)
    assert quick.name == "s-smoke" and list(quick.seeds) == [3]
    params = {d.name: dict(d.params) for d in quick.detectors}
    assert params["tnbcl"] == {"epochs": 5, "warmup_epochs": 1}  # the sweep's own parameters win
    assert params["autoencoder"] == {"model_params": (("epoch_num", 2),)}


def test_renamed_keys_still_work_with_a_warning():
    old = (
        '[[datasets]]\nname="digits"\n[anomalies]\nkinds=["all"]\ngenerator="uniform"\n'
        '[[detectors]]\nname="knn"\nlabel="kNN"\n'
    )
    new = old.replace("kinds=", "types=").replace("generator=", "sampler=").replace("label=", "display_name=")
    with pytest.warns(FutureWarning, match="'kinds' is now 'types'"):
        parsed = parse_sweep(old)
    assert parsed.injections == parse_sweep(new).injections
    assert parsed.detectors[0].display == "kNN"
    with pytest.raises(ConfigError, match="old name of 'types'"):
        parse_sweep(old.replace('kinds=["all"]', 'kinds=["all"]\ntypes=["all"]'))


def test_every_committed_sweep_file_parses():
    """A sweep under configs/ that no longer parses would only fail when someone runs it (a
    `*-reasons.toml` there is `mmadbench compare`'s reasons file, parsed as one)."""
    from mmadbench.benchmark.reproduction.deviations import load_reasons

    folder = Path(__file__).resolve().parent.parent / "configs"
    files = sorted(folder.glob("*.toml"))
    assert files
    for path in files:
        if path.name.endswith("-reasons.toml"):
            assert load_reasons(path).entries, path
        else:
            assert load_sweep(path).name, path


def test_the_sweep_reference_is_generated_from_the_parser_and_covers_every_key():
    """docs/sweep-reference.md is what SCHEMA generates, and every key the parser reads is in
    SCHEMA: a key read as raw.get("x") or checked by _expect but left undocumented fails here."""
    import ast
    from pathlib import Path

    from mmadbench.benchmark.measure import config

    root = Path(__file__).resolve().parents[1]
    assert (root / "docs" / "sweep-reference.md").read_text() == config.sweep_reference(), (
        "regenerate: python -m mmadbench.benchmark.measure.config > docs/sweep-reference.md"
    )
    documented = {k for keys in config.SCHEMA.values() for k in keys} | {
        old for renamed in config.RENAMED.values() for old in renamed
    }
    assert all(text.strip() for keys in config.SCHEMA.values() for text in keys.values())
    tree = ast.parse(Path(config.__file__).read_text())
    tables = {"raw", "table", "ds", "det", "split_raw"}
    read = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in tables
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            read.add(node.args[0].value)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in tables
            and isinstance(node.slice, ast.Constant)
        ):
            read.add(node.slice.value)
    assert read and read <= documented, sorted(read - documented)
