"""Train despam's line model (rules/despam_model.tsv) on labelled pages.

    python tools/train_despam.py PAGES_DIR [PAGES_DIR ...] -o rules/despam_model.tsv

PAGES_DIR holds raw/NNNN.txt, raw/NNNN.meta.json (its `domain` is the page's site) and
labels/NNNN.jsonl, as ../shared/data/pages and benchmarks/data/pages do. Each page is read and
converted as `zhclean run` does, the despam stage computes every line's features and the page's
words (the shipped rules give their evidence; the pages of one site are taken for the records of
one run, so a line other pages of its site hold is a template line), and three softmax
regressions are fitted (numpy, full-batch Adam, L2; features seen on fewer than MIN_SITES sites
left out):
stage 0 on each page's words, to the share of each label among its lines; stage 1 on the line
features; stage 2 on the stage-1 probabilities of each line, its neighbours and the page, and the
stage-0 shares of its page, all taken from models that did not see the line's site (grouped
folds), as at run time on a new site.
The threshold on p(content) that keeps `--keep` of the content lines the model decides (stage 2
on the stage-1 probabilities of models that did not see the site) is printed on stderr: it belongs
in despam.toml [model] min_content_probability. The model file is written when training is done
(the features are computed with the model in place, so it is never emptied first).
"""
from __future__ import annotations

import argparse
import json
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zhclean.readers import read_inputs
from zhclean.records import Reject
from zhclean.stages import Settings, build_stages
from zhclean.stages.despam import model_decides, model_inputs
from zhclean.stages.despam_model import LABELS, LinearModel, page_word_features
from zhclean.templates import TemplateCounter, TemplateTable, line_keys

# By the by-site cross-validation of the 1,108 pages (2026-12-03), with stage 0 not reading the
# rules' spam titles: L2 1e-3, 5e-4, 3e-4 remove 65 %, 72 %, 76 % of spam titles at the same
# content kept (99.0 %). 3e-4 keeps the short game article of samples/hijacked_page.html
# (tests/test_cli.py) by a margin of 0.02 in p(noise), 5e-4 by 0.09.
L2 = 5e-4
STEPS = 800  # 1600 gives the same figures
# Stage 0 has a row per page, not per line: few rows and many words, which it needs all of.
PAGE_L2 = 1e-5
PAGE_STEPS = 1000
FOLDS = 5
MIN_SITES = 3


@dataclass
class Page:
    name: str
    site: str
    features: list[dict[str, float]]  # per line; {} for lines the rules decide alone
    words: frozenset[str]  # the page's, for stage 0
    labels: list[str]
    by_model: list[bool]  # the lines the model decides at run time (the rest, the rules)


def load_pages(dirs: list[Path], stages=None, with_convert: bool = True,
               with_templates: bool = True) -> tuple[list[Page], TemplateTable | None]:
    """The labelled pages with every line's features, and the template table of their sites
    (the pages of a site are the records of one run; with_templates); converted first as
    `zhclean run` does (with_convert), or as they are, as `zhclean despam` sees raw text."""
    convert, despam = stages or build_stages(("convert", "despam"), Settings())
    read = []
    for pages_dir in dirs:
        for label_path in sorted((pages_dir / "labels").glob("*.jsonl")):
            raw = pages_dir / "raw" / f"{label_path.stem}.txt"
            site, labels = page_site(raw), read_labels(label_path)
            records = [r for r in read_inputs((str(raw),)) if not isinstance(r, Reject)]
            if not records:
                continue
            record = convert(records[0])[0] if with_convert else records[0]
            lines = record["text"].split("\n")
            if len(lines) != len(labels):
                print(f"{raw}: {len(lines)} lines, {len(labels)} labels; skipped", file=sys.stderr)
                continue
            normalised = despam.normaliser.lines(lines)
            read.append((f"{pages_dir.name}/{raw.stem}", site, labels, lines, normalised))
    templates = None
    if with_templates:
        counter = TemplateCounter()
        for _, site, _, _, normalised in read:
            counter.add(site, normalised)
        templates = counter.table()
    pages = []
    for name, site, labels, lines, normalised in read:
        site_lines = templates.lines_of(site, line_keys(normalised)) if templates else None
        rules, features, words = despam.evidence(lines, normalised, site_lines)
        by_model = [model_decides(rule, f) for rule, f in zip(rules, features)]
        pages.append(Page(name, site, model_inputs(rules, features), words, labels, by_model))
    return pages, templates


def page_site(raw: Path) -> str:
    """The site of raw/NNNN.txt: its meta's `domain` (the page's own name without a meta)."""
    meta = raw.with_suffix(".meta.json")
    return json.loads(meta.read_text()).get("domain", raw.stem) if meta.is_file() else raw.stem


def read_labels(path: Path) -> list[str]:
    return [json.loads(line)["label"] for line in path.read_text().splitlines() if line.strip()]


def fold_of(site: str, folds: int = FOLDS) -> int:
    """A stable split of sites into folds (the same on every run and machine)."""
    return zlib.crc32(site.encode("utf-8")) % folds


def one_hot(labels: list[str]) -> np.ndarray:
    y = np.zeros((len(labels), len(LABELS)))
    y[np.arange(len(labels)), [LABELS.index(label) for label in labels]] = 1.0
    return y


def fit(rows: list[dict[str, float]], y: np.ndarray, sites: list[str] | None = None,
        l2: float = L2, steps: int = STEPS) -> dict[str, list[float]]:
    """Softmax regression by full-batch Adam: weights per feature name and label, fitted to `y`,
    a distribution over LABELS per row. With the rows' sites, features seen on fewer than
    MIN_SITES sites are left out (a word of one site's template says nothing of other sites)."""
    names = sorted({name for row in rows for name in row})
    if sites is not None:
        seen_on: dict[str, set[str]] = {}
        for row, site in zip(rows, sites):
            for name in row:
                seen_on.setdefault(name, set()).add(site)
        names = [name for name in names if len(seen_on[name]) >= MIN_SITES]
    index = {name: j for j, name in enumerate(names)}
    # The rows as a sparse matrix (a line holds a few dozen of the features): coordinates.
    cells = [(i, index[name], value) for i, row in enumerate(rows)
             for name, value in row.items() if name in index]
    at_row = np.array([c[0] for c in cells])
    at_col = np.array([c[1] for c in cells])
    value = np.array([c[2] for c in cells], dtype=float)
    n, labels_n = len(rows), len(LABELS)
    w = np.zeros((len(names), labels_n))
    m, v = np.zeros_like(w), np.zeros_like(w)
    rate, beta1, beta2 = 0.05, 0.9, 0.999
    for step in range(1, steps + 1):
        scores = np.stack([np.bincount(at_row, value * w[at_col, c], minlength=n)
                           for c in range(labels_n)], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        error = p - y
        grad = np.stack([np.bincount(at_col, value * error[at_row, c], minlength=len(names))
                         for c in range(labels_n)], axis=1) / n + l2 * w
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        w -= rate * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + 1e-8)
    return {name: [round(float(x), 4) for x in w[j]] for name, j in index.items()}


@dataclass
class Rows:
    """The labelled lines the model reads (blank lines aside), with their page's site and
    whether the model decides them at run time."""
    features: list[dict[str, float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    by_model: list[bool] = field(default_factory=list)

    def add(self, page: Page, features: list[dict[str, float]]) -> "Rows":
        for f, label, model in zip(features, page.labels, page.by_model):
            if f and label != "blank":
                self.features.append(f)
                self.labels.append(label)
                self.sites.append(page.site)
                self.by_model.append(model)
        return self


def fit_stage_zero(pages: list[Page]) -> dict[str, list[float]]:
    """Each page's words to the share of each label among its lines that are not blank."""
    shares = np.zeros((len(pages), len(LABELS)))
    for i, page in enumerate(pages):
        labels = [label for label in page.labels if label != "blank"] or ["content"]
        shares[i] = one_hot(labels).mean(axis=0)
    return fit([page_word_features(page.words) for page in pages], shares,
               [page.site for page in pages], PAGE_L2, PAGE_STEPS)


def fit_stage_one(pages: list[Page]) -> dict[str, list[float]]:
    rows = Rows()
    for page in pages:
        rows.add(page, page.features)
    return fit(rows.features, one_hot(rows.labels), rows.sites)


def train(pages: list[Page], keep: float = 0.998) -> tuple[LinearModel, float]:
    """The model, and the p(content) threshold that keeps `keep` of content on unseen sites."""
    stage_zero, stage_one = fit_stage_zero(pages), fit_stage_one(pages)
    # Stage 2 learns from stage-0 and stage-1 probabilities of models that did not see the page's
    # site.
    rows = Rows()
    for k in range(FOLDS):
        held = [p for p in pages if fold_of(p.site) == k]
        seen = [p for p in pages if fold_of(p.site) != k]
        if held and seen:
            unseen_site = LinearModel({"0": fit_stage_zero(seen), "1": fit_stage_one(seen),
                                       "2": {}})
            for page in held:
                shares = unseen_site.page_shares(page.words)
                rows.add(page, unseen_site.stage_two_inputs(page.features, shares))
    stage_two = fit(rows.features, one_hot(rows.labels))
    # The threshold keeps `keep` of the content lines the model decides.
    content = sorted(LinearModel.probabilities(stage_two, r)[0]
                     for r, label, model in zip(rows.features, rows.labels, rows.by_model)
                     if label == "content" and model)
    threshold = content[int((1 - keep) * len(content))] if content else 0.5
    return LinearModel({"0": stage_zero, "1": stage_one, "2": stage_two}), \
        round(min(threshold, 0.5), 3)


def write_model(model: LinearModel, out, note: str) -> None:
    out.write("# despam's line model: stage <TAB> feature <TAB> a weight per label ("
              + ", ".join(LABELS) + ").\n")
    out.write("# Stage 0 reads the page's words (character pairs, p:XY), stage 1 a line's features\n"
              "# (pipeline/stages/despam_model.py); stage 2 the stage-1 probabilities of the line,\n"
              "# its neighbours and the page, and stage 0's. Generated by\n"
              f"# tools/train_despam.py {note}; retrain rather than edit.\n")
    for stage in ("0", "1", "2"):
        for name, weights in sorted(model.weights[stage].items()):
            out.write("\t".join([stage, name, *(f"{w:g}" for w in weights)]) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", type=Path, nargs="+")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="the model file to write (rules/despam_model.tsv)")
    parser.add_argument("--keep", type=float, default=0.998,
                        help="share of content lines to keep on held-out sites (threshold)")
    args = parser.parse_args()
    pages, _ = load_pages(args.pages)
    model, threshold = train(pages, args.keep)
    sites = len({p.site for p in pages})
    partial = args.output.with_name(args.output.name + ".partial")
    with open(partial, "w", encoding="utf-8") as out:
        write_model(model, out, f"on {len(pages)} pages from {sites} sites")
    partial.replace(args.output)
    print(f"{len(pages)} pages, {sites} sites; min_content_probability = {threshold}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
