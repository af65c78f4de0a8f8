"""The papers' claims tested on measured cells (claims.py) and the reasons file (deviations.py)."""

from __future__ import annotations

import pytest
from conftest import write_sweep_folder

from mmadbench.benchmark.reproduction.claims import evaluate_claims, load_claims, summarise
from mmadbench.benchmark.reproduction.compare import compare
from mmadbench.benchmark.reproduction.deviations import load_reasons
from mmadbench.benchmark.reproduction.reproduction import write_reproduction
from mmadbench.errors import ConfigError

MNIST = """
name = "paper-mnist"
[[datasets]]
name = "mnist"
[[reproduces]]
paper = "peng2024"
tables = ["I", "V"]
dataset = "MNIST"
methods = { "CMAD" = "CMAD", "TBNN" = "TBNN", "MODDIS" = "MODDIS", "TN-BCL (L_inter)" = "TN-BCL" }
reasons = { "*" = "from the sweep file" }
"""

VOX = MNIST.replace('tables = ["I", "V"]', 'tables = ["IV"]').replace('"MNIST"', '"VoxCeleb"')

CAE = """
name = "paper-cae"
protocol = "one_class"
[[datasets]]
name = "mfeat"
[one_class]
classes = [0, 1]
[[reproduces]]
paper = "laakom2023"
tables = ["I", "III", "IV"]
dataset = "FIN-Benthic"
stand_in = "mfeat"
methods = { "multimodal" = "CAE", "multimodal | input 64x64" = "CAE 64" }
"""


def _cell(display: str, seed: int, auc: float, **extra) -> dict:
    base = {
        "status": "ok",
        "dataset": "mnist",
        "display_name": display,
        "protocol": "injection",
        "anomaly_type": "all",
        "ratio": "1:1",
        "seed": seed,
        "normal_class": None,
        "auc": auc,
        "accuracy": auc,
    }
    return {**base, **extra}


def _mnist_cells() -> list[dict]:
    cells = []
    for seed, base in enumerate((0.90, 0.80, 0.85)):
        cells += [
            _cell("TN-BCL †", seed, base),
            _cell("CMAD", seed, base - 0.05),  # always 0.05 below: holds
            _cell("TBNN", seed, base + 0.03),  # always 0.03 above: reversed
            _cell("MODDIS", seed, base + (0.1, -0.1, 0.0)[seed]),  # either way: inside the interval
        ]
    return cells


AUC_INTER = "TN-BCL (L_inter) has a higher AUC than every baseline on the image-text sets"


def test_a_claim_holds_reverses_or_stays_inside_the_interval_per_rival(tmp_path):
    comparisons = evaluate_claims([write_sweep_folder(tmp_path, "paper-mnist", MNIST, _mnist_cells())])
    auc = comparisons[comparisons.claim == AUC_INTER].set_index("rival")
    assert list(auc.index) == ["MUVAD", "MODDIS", "TBNN", "CMAD", "CMML"]
    assert auc.loc["MUVAD"].verdict == "not measured" and auc.loc["MUVAD"].n == 0  # no row in the sweep: kept
    assert auc.loc["CMAD"].verdict == "holds" and auc.loc["CMAD"].difference == pytest.approx(0.05)
    assert auc.loc["TBNN"].verdict == "reversed" and auc.loc["TBNN"].n == 3
    assert auc.loc["MODDIS"].verdict == "inside the interval"
    summary = summarise(comparisons).set_index(["claim", "form"])
    verdict = summary.loc[(AUC_INTER, "TN-BCL")]
    assert verdict.outcome == "does not reproduce" and verdict.verdict.endswith(
        "(below TBNN at all types, ratio unstated, auc)"
    )
    assert (verdict.holds, verdict.inside, verdict.reversed, verdict.no_interval) == (1, 1, 1, 2)
    ratios = summary.loc[("TN-BCL (L_inter) is more accurate than every baseline at every anomaly ratio", "TN-BCL")]
    assert (ratios.holds, ratios.inside, ratios.reversed, ratios.no_interval) == (1, 1, 1, 42)  # 9 ratios x 5 rivals
    quintuple = summary.loc[("TN-BCL (L_quintuple) has a higher AUC than every baseline", "TN-BCL (L_quintuple)")]
    assert quintuple.outcome == "not measured"  # the sweep has no L_quintuple row: named as published


def test_a_claim_that_holds_where_measured_says_so(tmp_path):
    cells = [c for c in _mnist_cells() if c["display_name"] in ("TN-BCL †", "CMAD")]
    summary = summarise(evaluate_claims([write_sweep_folder(tmp_path, "paper-mnist", MNIST, cells)]))
    verdict = summary.set_index(["claim", "form"]).loc[(AUC_INTER, "TN-BCL")]
    assert verdict.outcome == "reproduces where measured" and "4 of 5 comparisons have no interval" in verdict.verdict


VOX_QUINTUPLE = VOX.replace('"TN-BCL (L_inter)" = "TN-BCL"', '"TN-BCL (L_quintuple)" = "TN-BCL"')


def test_rivals_are_those_the_paper_compared_in_that_table(tmp_path):
    cells = [_cell(name, seed, 0.8 + 0.01 * seed) for seed in range(3) for name in ("TN-BCL †", "MODDIS", "CMAD")]
    comparisons = evaluate_claims([write_sweep_folder(tmp_path, "paper-vox", VOX_QUINTUPLE, cells)])
    auc = comparisons[comparisons.claim == "TN-BCL (L_quintuple) has a higher AUC than every baseline"]
    assert list(auc.rival) == ["TBNN", "CMAD", "CMML"]  # Table IV has no MUVAD or MODDIS
    assert auc.set_index("rival").loc["TBNN"].verdict == "not measured"  # no finished cell
    assert auc.set_index("rival").loc["CMML"].verdict == "not measured"  # no row in the sweep
    assert set(comparisons.claim) == {"TN-BCL (L_quintuple) has a higher AUC than every baseline"}  # not L_inter's


def _one_class_cells(skip: tuple[str, int, int] | None = None) -> list[dict]:
    return [
        _cell(name, seed, auc, dataset="mfeat", protocol="one_class", anomaly_type="one_class", normal_class=cls)
        for seed in range(3)
        for cls in (0, 1)
        for name, auc in (("CAE", 0.7 + 0.1 * cls + 0.02 * seed), ("CAE 64", 0.6 + 0.1 * cls + 0.02 * seed))
        if (name, seed, cls) != skip
    ]


def test_one_class_claims_pair_class_averages_per_seed_across_settings(tmp_path):
    comparisons = evaluate_claims([write_sweep_folder(tmp_path, "paper-cae", CAE, _one_class_cells())])
    size = comparisons[comparisons.claim.str.startswith("input 32x32") & (comparisons.metric == "auc")]
    assert list(size.rival) == ["CAE 64", "multimodal @ input 256x256, average of 4 classes"]
    assert size.iloc[0].difference == pytest.approx(0.1) and size.iloc[0].verdict == "holds"
    assert size.iloc[1].verdict == "not measured"  # 256x256 has no row of its own (the plain one is CAE itself)
    out = write_reproduction([tmp_path / "paper-cae"], tmp_path / "paper")[1]
    assert "### laakom2023: input 32x32 is the best input size" in out.read_text()
    assert (tmp_path / "paper" / "claims.csv").is_file()


def test_a_one_class_average_leaves_out_a_seed_that_misses_a_class(tmp_path):
    cells = _one_class_cells(skip=("CAE 64", 2, 1))  # seed 2 of CAE 64 lacks class 1: its average is not one
    folder = write_sweep_folder(tmp_path, "paper-cae", CAE, cells)
    comparisons = evaluate_claims([folder])
    size = comparisons[comparisons.claim.str.startswith("input 32x32") & (comparisons.metric == "auc")].iloc[0]
    assert size.n == 2 and size.difference == pytest.approx(0.1)
    row = (
        compare([folder])
        .set_index(["table", "setting", "metric"])
        .loc[("III", "input 64x64, average of 4 classes", "auc")]
    )
    assert row.n == 2 and "1 seed(s) without all 2 classes left out" in row.how


def test_every_shipped_claim_holds_on_the_papers_own_figures():
    from mmadbench.benchmark.reproduction.claims import side
    from mmadbench.benchmark.reproduction.published import load_published

    published = load_published()
    for claim in load_claims():
        rows = published[(published.paper == claim.paper) & published.table.isin(claim.tables)]
        if claim.datasets:
            rows = rows[rows.dataset.isin(claim.datasets)]
        checked = 0
        for (dataset, metric), part in rows.groupby(["dataset", "metric"]):
            if metric not in claim.metrics:
                continue
            value = {(r.method, r.setting): r.value for r in part.itertuples()}
            for setting in claim.settings:
                for better in claim.better:
                    mine = value[side(better, setting)]
                    for rival in claim.than:
                        if side(rival, setting) in value:
                            assert mine > value[side(rival, setting)], (claim.claim, dataset, setting, metric, rival)
                            checked += 1
        assert checked, claim.claim


def test_every_shipped_claim_names_published_methods():
    claims = load_claims()
    assert {c.paper for c in claims} == {"peng2024", "laakom2023"}
    from mmadbench.benchmark.reproduction.published import load_published

    published = load_published()
    for claim in claims:
        methods = set(published[(published.paper == claim.paper) & published.table.isin(claim.tables)].method)
        for side in (*claim.better, *claim.than):
            assert side.split(" @ ")[0] in methods, (claim.claim, side)


def test_the_most_specific_reason_wins_and_the_sweep_file_is_the_fallback(tmp_path):
    reasons = tmp_path / "reasons.toml"
    reasons.write_text(
        '[[deviation]]\npaper = "peng2024"\nreason = "generic"\n'
        '[[deviation]]\npaper = "peng2024"\nmethod = ["TBNN", "CMAD"]\nmetric = "auc"\nreason = "specific"\n'
    )
    cells = [_cell("CMAD", s, 0.5 + 0.001 * s) for s in range(3)] + [
        _cell("TBNN", s, 0.5 + 0.001 * s) for s in range(3)
    ]
    folder = write_sweep_folder(tmp_path, "paper-mnist", MNIST, cells)
    frame = compare([folder], load_reasons(reasons)).set_index(["table", "method", "metric"])
    assert frame.loc[("I", "CMAD", "auc")].reason == "specific"
    assert frame.loc[("I", "CMAD", "accuracy")].reason == "generic"
    assert compare([folder]).set_index(["table", "method", "metric"]).loc[("I", "TBNN", "auc")].reason == (
        "from the sweep file"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[deviation]]\nmethod = "CMAD"\n', "one-line `reason`"),
        ('[[deviation]]\nreason = "x"\nmodel = "CMAD"\n', "unknown: model"),
        ('[[deviation]]\nreason = "x"\nmetric = []\n', "non-empty list"),
        ('[[reason]]\nreason = "x"\n', "only \\[\\[deviation\\]\\]"),
        ('[deviation]\nreason = "x"\n', "not \\[deviation\\]"),
        ('deviation = ["x"]\n', "a \\[\\[deviation\\]\\] table, not str"),
        ('[[deviation]]\nreason = "x"\nmethod = ""\n', "non-empty string"),
    ],
)
def test_a_bad_reasons_file_fails_clearly(tmp_path, text, message):
    path = tmp_path / "reasons.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_reasons(path)


def test_the_readme_block_is_generated_between_its_markers(tmp_path):
    folder = write_sweep_folder(tmp_path, "paper-mnist", MNIST, _mnist_cells())
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nprose before\n<!-- paper:start -->\nstale\n<!-- paper:end -->\nprose after\n")
    (folder / "tables").mkdir()
    for figure in ("roc_mnist_all.png", "types_mnist.png", "tables/mnist_timing.md", "tables/digits_timing.md"):
        (folder / figure).write_bytes(b"")
    written = write_reproduction([folder], tmp_path / "paper", readme=readme)
    text = readme.read_text()
    assert "- `paper-mnist`: [ROC curves (Fig. 5)](paper-mnist/roc_mnist_all.png), [detection rate" in text
    assert "[timing table (ms per pair per epoch, memory), digits](paper-mnist/tables/digits_timing.md)" in text
    assert written[-1] == readme and "stale" not in text and "prose before" in text and "prose after" in text
    assert "**TN-BCL Tables I-IV: AUC, all anomaly types at 1:1**" in text
    assert "| CMAD | " in text and "0.800 ± " in text and "· 0.9871 |" in text  # measured (n) · published
    assert "(details: [paper/claims.md](paper/claims.md))" in text  # relative to the README
    assert f"| peng2024 | {AUC_INTER} | MNIST | TN-BCL | does not reproduce (below TBNN" in text
    backwards = tmp_path / "BACKWARDS.md"
    backwards.write_text("ends <!-- paper:end --> before it starts <!-- paper:start -->\n")
    write_reproduction([folder], tmp_path / "paper", readme=backwards)
    assert backwards.read_text() == "ends <!-- paper:end --> before it starts <!-- paper:start -->\n"
    bare = tmp_path / "BARE.md"
    bare.write_text("no markers\n")
    assert write_reproduction([folder], tmp_path / "paper", readme=bare)[-1] != bare
    assert bare.read_text() == "no markers\n"


def test_the_headline_names_what_was_not_measured_and_why(tmp_path):
    from mmadbench.benchmark.reproduction.reproduction import headline

    frame = compare([write_sweep_folder(tmp_path, "paper-mnist", MNIST, _mnist_cells())])
    table = headline(frame, "peng2024", ("I", "II", "III", "IV"), ("auc",), ("",))
    assert table.startswith("| method | MNIST |") and "| TN-BCL | 0.850 ± " in table
    assert "Not measured: Fashion-MNIST (no sweep folder reproduces peng2024 Table II" in table
    assert "CIFAR-10 (no sweep folder" in table and "VoxCeleb (no sweep folder" in table
    timing = headline(frame, "peng2024", ("VI",), ("train_hours_per_epoch", "accuracy"), ("",), by="metric")
    assert timing.startswith("Not measured: train_hours_per_epoch, accuracy (no sweep folder reproduces")


def test_a_sweeps_wall_time_sums_its_runs_from_start_to_last_cell(tmp_path):
    import json

    from mmadbench.benchmark.reproduction.reproduction import sweep_wall_s

    cells = [_cell("CMAD", 0, 0.9, finished_at=t) for t in ("2026-12-01T10:05:00+00:00", "2026-12-01T10:10:00+00:00")]
    cells += [_cell("CMAD", 1, 0.9, finished_at="2026-12-02T08:30:00+00:00")]
    folder = write_sweep_folder(tmp_path, "paper-mnist", MNIST, cells)
    runs = [{"started_at": "2026-12-01T10:00:00+00:00"}, {"started_at": "2026-12-02T08:00:00+00:00"}]
    (folder / "manifest.json").write_text(json.dumps({"runs": runs}))
    assert sweep_wall_s(folder) == (40 * 60.0, 2)  # 10 min, then 30 min; the night between is not counted


TIMING = MNIST.replace('tables = ["I", "V"]', 'tables = ["VI"]').replace('"MNIST"', '"Fashion-MNIST"', 1)


def test_the_timing_headline_has_a_column_per_metric_with_times_in_significant_digits(tmp_path):
    from mmadbench.benchmark.reproduction.reproduction import headline

    cells = [_cell("CMAD", s, 0.9, fit_s_per_epoch=7.2 + s, score_s_per_1k=0.5, fit_reused=False) for s in range(3)]
    frame = compare([write_sweep_folder(tmp_path, "paper-timing", TIMING, cells)])
    metrics = ("train_hours_per_epoch", "test_seconds_per_1000", "accuracy")
    table = headline(frame, "peng2024", ("VI",), metrics, ("",), by="metric").splitlines()
    assert table[0] == "| method | train_hours_per_epoch | test_seconds_per_1000 | accuracy |"
    cmad = next(line for line in table if line.startswith("| CMAD |"))
    assert cmad.startswith("| CMAD | 0.00228 ± 0.00069 (3) · ")  # (7.2 + 1) s / 3,600 ± t(2) · s / sqrt(3)
