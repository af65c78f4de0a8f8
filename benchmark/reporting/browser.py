"""A self-contained HTML results browser for sweep folders, built from the folder's files alone.

`write_sweep_page(folder)` writes `<folder>/index.html`: the leaderboard (tables/ranks) first, then
every table of the folder, the per-cell table from cells.csv (click a row for that cell's parameters,
provenance and error) and the figures. `write_index_page(folders, out)` writes one page over several
sweep folders, with the published-vs-measured comparison when a folder holds compare.csv.

Every table sorts on a header click (numerically where the cells are numbers: "0.9876 ± 0.0012" sorts
by 0.9876) and obeys one filter bar (dataset, anomaly type, ratio, detector); a filter applies to a
table only where the table has that column, or its name or column headings name that setting.

The page needs no network: all CSS and JS (vanilla, no libraries) are inlined and the cells' details
are embedded as JSON. Figures are referenced by relative path (`<img src="cd.png">`) rather than
inlined, so the page stays small; it must therefore stay next to them. The output is deterministic
(sorted file lists, no timestamps), so regenerating from the same files gives the same bytes.
"""

from __future__ import annotations

import csv
import html
import json
import logging
import os
import re
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)

ROLES = {"dataset": "dataset", "type": "anomaly type", "ratio": "ratio", "detector": "detector"}
ROLE_HEADERS = {
    "dataset": {"dataset"},
    "type": {"anomaly type", "anomaly_type", "type"},
    "ratio": {"ratio"},
    "detector": {"detector", "method", "display name", "display_name"},
}
CELL_COLUMNS = [  # (cells.csv column, heading) of the per-cell table
    ("dataset", "dataset"), ("anomaly_type", "anomaly type"), ("ratio", "ratio"), ("display_name", "detector"),
    ("seed", "seed"), ("status", "status"), ("auc", "AUC"), ("fpr", "FPR"), ("tpr", "TPR"), ("accuracy", "accuracy"),
]  # fmt: skip
DETAIL_COLUMNS = [  # what a cell's detail shows, when cells.csv has the column
    "sweep", "detector", "display_name", "family", "dataset", "dataset_options", "protocol", "normal_class",
    "anomaly_type", "ratio", "sampler", "split", "seed", "status", "auc", "auprc", "params", "error",
]  # fmt: skip
PROVENANCE = [
    "cell_id", "git_rev", "harness_version", "data_sha256", "code_sha256", "device", "threads", "torch_threads",
    "finished_at", "versions",
]  # fmt: skip
METRICS = {"auc", "fpr", "tpr", "accuracy"}
COMPARISONS = ("compare", "claims")  # results/paper's published-vs-measured tables, shown on the index page
RATIO_IN_HEADING = re.compile(r"\((\d+:\d+)\)")

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 3em;color:#222}[id]{scroll-margin-top:3em}
h1{margin:.6em 0 .2em}h2{border-bottom:2px solid #ddd;margin-top:1.6em}h3{margin:1.2em 0 .3em;font-size:15px}
nav a{margin-right:1em}.meta{color:#555}.note{color:#555;font-size:12px;max-width:70em}
#filters{position:sticky;top:0;background:#f6f8fa;border-bottom:1px solid #ccc;padding:.5em;z-index:2}
#filters label{margin-right:1em}.scroll{overflow-x:auto;max-width:100%}
table.data{border-collapse:collapse;font-size:13px;margin:.3em 0}
table.data th,table.data td{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}
table.data th{background:#eef1f4;cursor:pointer;user-select:none;position:relative}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#fafafa}tr.cell{cursor:pointer}tr.cell:hover{background:#e8f0fe}tr.cell td:last-child{color:#06c;text-decoration:underline}
tr.status-failed td,tr.status-error td{color:#b00}.count{color:#777;font-size:12px}
section.off>.scroll,section.off>.note{display:none}section.off h3::after{content:" (hidden by the filters)";color:#999}
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0}.figs img{max-width:560px;border:1px solid #ddd}
table.data td.long{white-space:normal;min-width:30em;max-width:50em}.figs.small img{max-width:300px}figcaption{font-size:12px;color:#555}
dialog{max-width:80em;width:90%}dialog dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 1.2em;margin:0}
dialog dt{font-weight:bold}dialog dd{margin:0;font-family:monospace;word-break:break-all}#detail-close{float:right}
pre{background:#f6f8fa;padding:.5em;overflow-x:auto}pre.error{background:#fdecea;color:#900}
"""

JS = """
const NUM = /^[-+]?(\\d+\\.?\\d*|\\.\\d+)(e[-+]?\\d+)?(\\s|%|$)/i;
function key(td) { const t = td ? td.textContent.trim() : ''; return NUM.test(t) ? parseFloat(t) : t; }
function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a.localeCompare(b, undefined, {numeric: true});
}
function sortBy(th) {
  const table = th.closest('table'), i = th.cellIndex, body = table.tBodies[0];
  const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
  for (const h of table.tHead.rows[0].cells) h.removeAttribute('aria-sort');
  th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
  const rows = Array.from(body.rows);
  rows.sort((r, s) => dir * compare(key(r.cells[i]), key(s.cells[i])) || r.dataset.n - s.dataset.n);
  for (const r of rows) body.appendChild(r);
}
function matches(text, want, role) {
  text = text.trim();
  return text === want || (role === 'detector' && text.startsWith(want + ' '));
}
function applyFilters() {
  const f = {};
  for (const s of document.querySelectorAll('#filters select')) f[s.dataset.role] = s.value;
  for (const table of document.querySelectorAll('table.data')) {
    const heads = Array.from(table.tHead.rows[0].cells);
    const off = Object.keys(f).some(r => f[r] && table.dataset[r] && table.dataset[r] !== f[r]);
    table.closest('section').classList.toggle('off', off);
    const hideCol = heads.map(h => !!(f.ratio && h.dataset.ratio && h.dataset.ratio !== f.ratio));
    let shown = 0;
    for (const row of table.tBodies[0].rows) {
      row.hidden = heads.some((h, i) => h.dataset.role && f[h.dataset.role] && row.cells[i]
                                         && !matches(row.cells[i].textContent, f[h.dataset.role], h.dataset.role));
      Array.from(row.cells).forEach((c, i) => { c.style.display = hideCol[i] ? 'none' : ''; });
      if (!row.hidden) shown++;
    }
    heads.forEach((h, i) => { h.style.display = hideCol[i] ? 'none' : ''; });
    const count = table.closest('section').querySelector('.count');
    if (count) count.textContent = shown + ' of ' + table.tBodies[0].rows.length + ' rows';
  }
}
function add(parent, tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  parent.appendChild(e);
  return e;
}
function pretty(value) { try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; } }
function fields(box, title, cell, keys) {
  keys = keys.filter(k => k in cell);
  if (!keys.length) return;
  add(box, 'h3', title);
  const dl = add(box, 'dl');
  for (const k of keys) { add(dl, 'dt', k); add(dl, 'dd', cell[k]); }
}
function showCell(i) {
  const data = JSON.parse(document.getElementById('cells-data').textContent);
  const cell = Object.assign({}, data.common, data.cells[i]), box = document.getElementById('detail-body');
  box.replaceChildren();
  add(box, 'h2', 'Cell ' + (cell.cell_id || i));
  if (cell.error) { add(box, 'h3', 'Error'); add(box, 'pre', cell.error, 'error'); }
  fields(box, 'Setting and result', cell, data.order.filter(k => k !== 'params' && k !== 'error'));
  add(box, 'h3', 'Parameters'); add(box, 'pre', pretty(cell.params || '{}'), 'params');
  fields(box, 'Provenance', cell, data.provenance.filter(k => k !== 'versions'));
  const versions = cell.versions || (data.versions ? JSON.stringify(data.versions) : '');
  if (versions) { add(box, 'h3', cell.versions ? 'Library versions' : 'Library versions (sweep manifest)'); add(box, 'pre', pretty(versions)); }
  document.getElementById('detail').showModal();
}
document.addEventListener('DOMContentLoaded', () => {
  for (const th of document.querySelectorAll('table.data thead th')) th.addEventListener('click', () => sortBy(th));
  for (const s of document.querySelectorAll('#filters select')) s.addEventListener('change', applyFilters);
  for (const tr of document.querySelectorAll('tr.cell')) tr.addEventListener('click', () => showCell(+tr.dataset.n));
  const close = document.getElementById('detail-close');
  if (close) close.addEventListener('click', () => document.getElementById('detail').close());
  applyFilters();
});
"""


def esc(value: object) -> str:
    """HTML-escape any value (quotes too), so no file content can inject markup."""
    return html.escape(str(value), quote=True)


def json_script(element_id: str, data: object) -> str:
    """Embed data as JSON in a script element; `</` and `<!--` are escaped so it cannot close the element."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """A csv file's header and rows (empty when the file is missing)."""
    if not path.is_file():
        return [], []
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def read_cells(folder: Path) -> list[dict[str, str]]:
    """cells.csv as a list of dicts, in file order."""
    header, rows = read_csv(folder / "cells.csv")
    return [dict(zip(header, row)) for row in rows]


def parse_markdown_table(path: Path) -> tuple[str, list[str], list[list[str]], list[str], int]:
    """A report .md file's title, first pipe-table's header and rows, the notes around it, and its number of tables."""
    title, header, rows, notes, tables = "", [], [], [], 0
    split = lambda line: [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            cells = split(line)
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                tables += 1
            elif not header:
                header = cells
            elif tables == 1:
                rows.append(cells)
        elif line.strip() and not title and line.startswith(("**", "#")) and not header:
            title = line.strip().strip("*#").strip()
        elif line.strip():
            notes.append(line.strip().replace("**", ""))
    return title, header, rows, notes, tables


def table_sources(folder: Path) -> list[tuple[str, Path]]:
    """(name, stem path) of every table: tables/*.md|csv, and top-level pairs like compare.csv/compare.md."""
    found = {p.with_suffix("") for p in (folder / "tables").glob("*") if p.suffix in (".md", ".csv")}
    found |= {
        p.with_suffix("") for p in folder.glob("*.csv") if p.with_suffix(".md").is_file() and p.name != "cells.csv"
    }
    ordered = sorted(found, key=lambda p: (p.name != "ranks", p.parent != folder / "tables", p.name))
    return [(p.name, p) for p in ordered]


def infer_setting(name: str, values: dict[str, set[str]]) -> dict[str, str]:
    """The dataset, anomaly type and ratio a table's file name names (e.g. digits_all_1-1), of those the cells hold."""
    padded, found = f"_{name}_", {}
    for role in ("dataset", "type", "ratio"):
        hits = [v for v in values.get(role, ()) if v and f"_{v.replace(':', '-')}_" in padded]
        if hits:
            found[role] = max(hits, key=len)
            padded = padded.replace(f"_{found[role].replace(':', '-')}_", "_", 1)
    return found


def header_role(heading: str) -> str:
    """The filter role (dataset, type, ratio, detector) of a column heading, or ''."""
    norm = heading.strip().lower()
    return next((role for role, names in ROLE_HEADERS.items() if norm in names), "")


def cell_html(text: str | tuple[str, str]) -> str:
    """One table cell: a (text, href) pair is a link; a markdown-bold value (the best in its column) is bold."""
    if isinstance(text, tuple):
        return f'<td><a href="{esc(text[1])}">{esc(text[0])}</a></td>'
    if len(text) > 80:
        return f'<td class="long">{esc(text)}</td>'
    if len(text) > 4 and text.startswith("**") and text.endswith("**"):
        return f"<td><b>{esc(text[2:-2])}</b></td>"
    return f"<td>{esc(text)}</td>"


def table_html(header: list[str], rows: list[list], attrs: dict[str, str], row_attrs: list[str] | None = None) -> str:
    """A sortable, filterable table: roles on its headings, its setting as data attributes."""
    heads = []
    for h in header:
        role, ratio = header_role(h), RATIO_IN_HEADING.search(h)
        extra = (f' data-role="{role}"' if role else "") + (f' data-ratio="{esc(ratio.group(1))}"' if ratio else "")
        heads.append(f"<th{extra}>{esc(h)}</th>")
    body = []
    for n, row in enumerate(rows):
        more = row_attrs[n] if row_attrs else ""
        body.append(f'<tr data-n="{n}"{more}>' + "".join(cell_html(c) for c in row) + "</tr>")
    table_attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in sorted(attrs.items()))
    return (f'<div class="scroll"><table class="data"{table_attrs}><thead><tr>{"".join(heads)}</tr></thead>'
            f"<tbody>\n" + "\n".join(body) + "\n</tbody></table></div>")  # fmt: skip


def table_section(name: str, stem: Path, values: dict[str, set[str]]) -> str:
    """One table of the folder, from its .md (the shown cells) or else its .csv."""
    md = stem.with_suffix(".md")
    title, header, rows, notes, tables = parse_markdown_table(md) if md.is_file() else ("", [], [], [], 0)
    if tables != 1 and stem.with_suffix(".csv").is_file():  # no single table to show: the csv's rows instead
        (header, rows), notes = read_csv(stem.with_suffix(".csv")), []
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (f'<section id="table-{esc(name)}"><h3>{esc(title or name)} <span class="meta">({esc(name)})</span> '
            f'<span class="count"></span></h3>{table_html(header, rows, infer_setting(name, values))}{notes_html}</section>')  # fmt: skip


def filter_values(cells: list[dict[str, str]]) -> dict[str, set[str]]:
    """Each filter role's values in the cells (dataset, anomaly type, ratio, detector display name)."""
    columns = {"dataset": "dataset", "type": "anomaly_type", "ratio": "ratio", "detector": "display_name"}
    return {role: {c.get(col, "") for c in cells} - {""} for role, col in columns.items()}


def filters_html(values: dict[str, set[str]]) -> str:
    """The filter bar: one select box per role, 'all' first."""
    parts = []
    for role, label in ((r, lab) for r, lab in ROLES.items() if values.get(r)):
        options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in sorted(values.get(role, ())))
        parts.append(
            f'<label>{esc(label)} <select id="f-{role}" data-role="{role}"><option value="">all</option>{options}</select></label>'
        )
    return f'<div id="filters">{"".join(parts)}</div>'


def short(column: str, value: str) -> str:
    """A metric rounded to 4 decimals for the cells table; other values unchanged."""
    if column in METRICS and value:
        try:
            return f"{float(value):.4f}"
        except ValueError:
            return value
    return value


def cells_section(cells: list[dict[str, str]], manifest: dict) -> str:
    """The per-cell table (click a row for the detail) with the details embedded as JSON."""
    columns = [(c, h) for c, h in CELL_COLUMNS if cells and c in cells[0]]
    rows = [[short(c, cell.get(c, "")) for c, _ in columns] + ["details"] for cell in cells]
    attrs = [f' class="cell status-{esc(cell.get("status", ""))}"' for cell in cells]
    details = [{k: cell[k] for k in DETAIL_COLUMNS + PROVENANCE if cell.get(k)} for cell in cells]
    common = {k: v for k, v in details[0].items() if all(d.get(k) == v for d in details)} if len(details) > 1 else {}
    details = [{k: v for k, v in d.items() if k not in common} for d in details]  # shared values are stored once
    versions = manifest.get("versions") or []
    data = {
        "cells": details,
        "common": common,
        "order": DETAIL_COLUMNS,
        "provenance": PROVENANCE,
        "versions": versions[0] if len(versions) == 1 else versions or None,
    }
    table = table_html([h for _, h in columns] + [""], rows, {}, attrs)
    return (f'<section id="cells"><h2>Cells <span class="count"></span></h2><p class="meta">Click a row for the cell\'s '
            f"parameters, provenance and error.</p>{table}{json_script('cells-data', data)}</section>")  # fmt: skip


def figures_section(folder: Path) -> str:
    """The folder's figures (PNG, by relative path) and, folded, the per-family ROC figures."""
    fig = lambda p: (
        f'<figure><a href="{esc(p)}"><img src="{esc(p)}" alt="{esc(p)}" loading="lazy"></a><figcaption>{esc(p)}</figcaption></figure>'
    )
    main = sorted(p.name for p in folder.glob("*.png"))
    out = f'<section id="figures"><h2>Figures</h2><div class="figs">{"".join(fig(p) for p in main)}</div>'
    for sub, what in (("roc_families", "ROC curves"), ("missing_families", "Missing-modality AUC")):
        families = sorted(f"{sub}/{p.name}" for p in (folder / sub).glob("*.png"))
        if families:
            out += f'<details><summary>{what} per family ({len(families)})</summary><div class="figs small">{"".join(fig(p) for p in families)}</div></details>'
    return out + "</section>"


def status_text(cells: list[dict[str, str]]) -> str:
    """Status counts like '570 ok, 6 failed', sorted by status."""
    counts = Counter(c.get("status", "") for c in cells)
    return ", ".join(f"{n} {s or 'no status'}" for s, n in sorted(counts.items())) or "no cells"


def read_manifest(folder: Path) -> dict:
    """manifest.json as a dict (empty when missing or unreadable)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def page(title: str, body: str, nav: list[tuple[str, str]]) -> str:
    """A complete HTML document with the CSS, JS and cell-detail dialog inlined."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    dialog = '<dialog id="detail"><button id="detail-close" type="button">close</button><div id="detail-body"></div></dialog>'
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1><nav>{links}</nav>\n{body}\n{dialog}"
            f"<script>{JS}</script></body></html>\n")  # fmt: skip


def write_sweep_page(folder: Path) -> Path:
    """Write <folder>/index.html, the browser of one sweep folder, and return its path."""
    folder = Path(folder)
    cells, manifest, sources = read_cells(folder), read_manifest(folder), table_sources(folder)
    values = filter_values(cells) if cells else column_values([stem for _, stem in sources])
    ranks = [table_section(name, stem, values) for name, stem in sources if name == "ranks"]
    others = [table_section(name, stem, values) for name, stem in sources if name != "ranks"]
    revs = ", ".join(manifest.get("git_revisions", [])) or "unknown"
    meta = f'<p class="meta">{len(cells)} cells ({esc(status_text(cells))}). Git revision: {esc(revs)}.</p>'
    parts = [meta, filters_html(values)]
    nav = []
    if ranks:
        parts.append(f'<div id="leaderboard"><h2>Leaderboard</h2>{ranks[0]}</div>')
        nav.append(("leaderboard", "Leaderboard"))
    if others:
        parts.append(f'<div id="tables"><h2>Tables</h2>{"".join(others)}</div>')
        nav.append(("tables", "Tables"))
    if cells:
        parts.append(cells_section(cells, manifest))
        nav.append(("cells", "Cells"))
    parts.append(figures_section(folder))
    nav.append(("figures", "Figures"))
    out = folder / "index.html"
    out.write_text(
        page(f"mmadbench results: {manifest.get('sweep', folder.name)}", "\n".join(parts), nav), encoding="utf-8"
    )
    log.info("wrote %s (%d cells, %d tables)", out, len(cells), len(sources))
    return out


def column_values(stems: list[Path]) -> dict[str, set[str]]:
    """Each filter role's values in the csv files' columns with that role (the filter options without cells)."""
    values: dict[str, set[str]] = {}
    for stem in stems:
        header, rows = read_csv(stem.with_suffix(".csv"))
        for i, role in ((i, header_role(h)) for i, h in enumerate(header)):
            if role:
                values.setdefault(role, set()).update(r[i] for r in rows if i < len(r) and r[i])
    return values


def write_index_page(folders: list[Path], out: Path) -> Path:
    """Write one page over several sweep folders (name, cells, status, link), with any published comparison."""
    out = Path(out)
    folders = sorted((Path(f) for f in folders), key=lambda f: f.name)
    rows, compare = [], []
    for folder in folders:
        cells, manifest = read_cells(folder), read_manifest(folder)
        link = Path(os.path.relpath(folder / "index.html", out.parent)).as_posix()
        revs = ", ".join(manifest.get("git_revisions", []))
        rows.append([(folder.name, link), str(manifest.get("sweep", "")), str(len(cells)), status_text(cells), revs])
        found = {n: stem for n, stem in table_sources(folder) if stem.parent == folder}
        compare += [(f"{folder.name}/{n}", found[n]) for n in COMPARISONS if n in found]
    values = column_values([stem for _, stem in compare])
    table = table_html(["folder", "sweep", "cells", "status", "git revision"], rows, {})
    parts = [filters_html(values), f'<section id="sweeps"><h2>Sweeps <span class="count"></span></h2>{table}</section>']
    nav = [("sweeps", "Sweeps")]
    if compare:
        sections = "".join(table_section(name, stem, values) for name, stem in compare)
        parts.append(f'<div id="comparison"><h2>Published vs measured</h2>{sections}</div>')
        nav.append(("comparison", "Published vs measured"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page("mmadbench results", "\n".join(parts), nav), encoding="utf-8")
    log.info("wrote %s (%d folders, %d comparison tables)", out, len(folders), len(compare))
    return out
