"""The results browser (benchmark/reporting/browser.py): a fast check of the HTML itself, then the page driven in
a real browser (Playwright + Debian's /usr/bin/chromium): sorting, filtering, a cell's detail, the index.

The browser tests never skip: without playwright or chromium they fail and say what to install."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmadbench.benchmark.reporting.browser import write_index_page, write_sweep_page

RESULTS = Path(__file__).resolve().parent.parent / "results"
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<script>alert(1)</script>"


def copy_sweep(src: Path, dest: Path) -> Path:
    """A copy of a committed sweep folder with only what the page reads (csv, md, json, png)."""
    for path in sorted(src.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".md", ".json", ".png"):
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return dest


def read_cells(folder: Path) -> list[dict[str, str]]:
    with (folder / "cells.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def save_screenshot(page, tmp: Path, name: str) -> None:
    """Save a full-page screenshot to tmp and, when MMADBENCH_SCREENSHOT_DIR is set, there too."""
    page.screenshot(path=str(tmp / name), full_page=False)
    if os.environ.get("MMADBENCH_SCREENSHOT_DIR"):
        out = Path(os.environ["MMADBENCH_SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / name, out / name)


# --- without a browser -------------------------------------------------------------------------


def test_page_is_deterministic_offline_and_escaped(tmp_path: Path) -> None:
    folder = copy_sweep(RESULTS / "default", tmp_path / "default")
    cells = read_cells(folder)
    cells[0]["display_name"] = HOSTILE
    cells[0]["error"] = "boom </script><!-- x"
    with (folder / "cells.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(cells[0]))
        writer.writeheader()
        writer.writerows(cells)
    ranks = folder / "tables" / "ranks.md"
    ranks.write_text(ranks.read_text().replace("| knn  ", f"| {HOSTILE} ", 1))

    first = write_sweep_page(folder).read_bytes()
    second = write_sweep_page(folder).read_bytes()
    assert first == second, "regenerating from the same files must give the same bytes"
    index = tmp_path / "index.html"
    assert write_index_page([folder], index).read_bytes() == write_index_page([folder], index).read_bytes()

    text = first.decode()
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # in the cells table and the leaderboard
    assert "<\\/script>" in text  # inside the embedded JSON
    assert text.count("</script>") == 2  # the JSON data and the inline JS: nothing closes them early
    data = json.loads(re.search(r'<script type="application/json" id="cells-data">(.*?)</script>', text, re.S)[1])
    assert data["cells"][0]["display_name"] == HOSTILE and data["cells"][0]["error"] == "boom </script><!-- x"
    for page in (text, index.read_text()):
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I), "no network resources"
        assert "<link" not in page and "@import" not in page
    assert '<img src="roc_digits_all.png"' in text and 'src="roc_families/' in text
    assert text.index('id="leaderboard"') < text.index('id="tables"') < text.index('id="cells"')


# --- in a browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium driven by Playwright; fails (never skips) when either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: .venv/bin/pip install -c constraints.txt playwright")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (playwright install cannot download here)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of results/default, default-oneclass and paper with their pages and the index over them."""
    root = tmp_path_factory.mktemp("results")
    for name in ("default", "default-oneclass", "paper"):
        write_sweep_page(copy_sweep(RESULTS / name, root / name))
    write_index_page([root / "default", root / "default-oneclass", root / "paper"], root / "index.html")
    return root


@pytest.fixture
def page(browser, site: Path) -> Iterator[object]:
    """A fresh page that records console errors and uncaught exceptions; none may occur."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    tab.close()
    assert not errors, f"console errors: {errors}"


def visible_column(page, table: str, heading: str) -> list[str]:
    """The texts of one column's visible rows in a table (CSS selector), by heading."""
    return page.eval_on_selector(
        table,
        """(t, h) => { const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent === h);
             return Array.from(t.tBodies[0].rows).filter(r => !r.hidden).map(r => r.cells[i].textContent); }""",
        heading,
    )


CELLS = "#cells table"
LEADERBOARD = "#leaderboard table"


@pytest.mark.browser
def test_sort_and_filter(page, site: Path) -> None:
    cells = read_cells(site / "default")
    page.goto((site / "default" / "index.html").as_uri())
    assert len(visible_column(page, CELLS, "detector")) == len(cells)

    # sorting: AUC ascending, then descending, numerically
    before = visible_column(page, CELLS, "AUC")
    page.click(f"{CELLS} th:text-is('AUC')")
    ascending = visible_column(page, CELLS, "AUC")
    assert ascending != before and [float(v) for v in ascending] == sorted(float(v) for v in before)
    page.click(f"{CELLS} th:text-is('AUC')")
    assert [float(v) for v in visible_column(page, CELLS, "AUC")] == sorted((float(v) for v in before), reverse=True)
    ranks = visible_column(page, LEADERBOARD, "Mean AUC")
    page.click(f"{LEADERBOARD} th:text-is('Mean AUC')")
    assert visible_column(page, LEADERBOARD, "Mean AUC") == sorted(ranks, key=float)  # "0.9678" etc.

    # filtering: by detector, then by dataset, anomaly type and ratio too
    page.select_option("#f-detector", "knn")
    knn = [c for c in cells if c["display_name"] == "knn"]
    assert visible_column(page, CELLS, "detector") == ["knn"] * len(knn) and knn
    assert visible_column(page, LEADERBOARD, "Method") == ["knn"]  # not knn-late
    page.select_option("#f-dataset", "digits")
    page.select_option("#f-type", "attribute")
    page.select_option("#f-ratio", "1:1")
    want = [c for c in knn if (c["dataset"], c["anomaly_type"], c["ratio"]) == ("digits", "attribute", "1:1")]
    assert sorted(visible_column(page, CELLS, "seed")) == sorted(c["seed"] for c in want) and want
    assert "off" in (page.get_attribute("#table-digits_all", "class") or "")  # another anomaly type's table is hidden
    assert "off" not in (page.get_attribute("#table-digits_attribute", "class") or "")
    assert page.is_visible("#table-digits_attribute th:text-is('AUC (1:1)')")
    assert not page.is_visible("#table-digits_attribute th:text-is('AUC (9:1)')")  # the other ratio's columns
    save_screenshot(page, site, "browser-filtered.png")
    page.select_option("#f-detector", "")
    assert len(visible_column(page, CELLS, "detector")) == len(
        [c for c in cells if (c["dataset"], c["anomaly_type"], c["ratio"]) == ("digits", "attribute", "1:1")]
    )


@pytest.mark.browser
def test_cell_detail(page, site: Path) -> None:
    cells = read_cells(site / "default")
    page.goto((site / "default" / "index.html").as_uri())
    page.select_option("#f-detector", cells[5]["display_name"])
    page.click(f"{CELLS} tbody tr:not([hidden]) >> nth=0")  # one click opens the detail
    detail = page.locator("#detail")
    assert detail.is_visible()
    first = next(c for c in cells if c["display_name"] == cells[5]["display_name"])
    text = detail.inner_text()
    assert f"Cell {first['cell_id']}" in text
    for key in ("Provenance", "cell_id", "git_rev", "data_sha256", "code_sha256", "device", "threads", "Parameters"):
        assert key in text
    assert first["code_sha256"] in text and first["git_rev"] in text
    assert '"model_params"' in page.inner_text("#detail pre.params") or first["params"] == "{}"
    assert "Library versions" in text  # from the manifest: this cells.csv has no versions column
    save_screenshot(page, site, "browser-detail.png")
    page.click("#detail-close")
    assert not detail.is_visible()


@pytest.mark.browser
def test_index_page(page, site: Path) -> None:
    page.goto((site / "index.html").as_uri())
    assert visible_column(page, "#sweeps table", "folder") == ["default", "default-oneclass", "paper"]
    assert visible_column(page, "#sweeps table", "cells")[0] == str(len(read_cells(site / "default")))
    compare = "#table-paper\\/compare table"
    with (site / "paper" / "compare.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(visible_column(page, compare, "method")) == len(rows)
    published = [float(r["published"]) for r in rows]
    page.click(f"{compare} th:text-is('published')")
    assert [float(v) for v in visible_column(page, compare, "published")] == sorted(published)
    method = rows[0]["method"]
    page.select_option("#f-detector", method)
    assert visible_column(page, compare, "method") == [method] * sum(r["method"] == method for r in rows)
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, site, "browser-index.png")
    page.click("#sweeps a:text-is('default')")
    page.wait_for_selector(CELLS)
    assert page.url.endswith("/default/index.html")
