"""Throughput of `zhclean run` against the shell pipeline users have today, on a corpus that repeats
no document.

The corpus is the distinct real text in the data folders, each text once: every raw page
(/work/shared/data/pages/raw and benchmarks/data/pages/raw: hijacked spam pages and clean pages),
the seed page, SIGHAN 2005 news (test text: AS and CityU Traditional, PKU and MSR Simplified; the
training text too where present, `*_training.utf8`, its words joined again) in articles of 20
lines, UD GSD's Traditional sentences 20 to a record, and the news headlines one to a record (a
headline dataset as it comes). Left out as copies of that text: the gold segmentations, the GBK and
Big5 files, GSD's Simplified column (made from the Traditional one); left out as not running text:
the training word lists and OpenCC's test phrases. A record whose text, whitespace aside, was seen
before is dropped (the count is printed). The records are shuffled (a fixed seed), so a smaller
--mb is a sample of all of it; by default, and for a larger --mb, the corpus is all of it (about
5 MB of JSONL, 4 MB of text). Nothing repeats, so no cache of lines or records gains.

In one run, on the same text, it times:

    shell        opencc -c t2s | python -m jieba -d ' '   (plain text in; opencc installed where
                 missing)
    naive chain  the Python a peer writes in an afternoon, in one process: json in; despam by a few
                 spam words and by `_` and `|` counts; OpenCC t2s per record; jieba-rs (rjieba,
                 HMM) per line; json out
    zhclean      zhclean run --jobs 1, and --jobs N (N: the cores)
    components   only what no pipeline built on OpenCC and jieba-rs can skip, on exactly the work
                 `zhclean run` chose to do (every record parsed; of the records it kept, the lines
                 it kept, converted once per record with the OpenCC config it used, segmented by
                 jieba-rs with HMM, written), and nothing else: no despam, normalisation or script
                 detection. Two ways:
        per line   jieba-rs on each kept line, json
        ceiling    jieba-rs once per record (line breaks come back as tokens), orjson where
                   importable
The ceiling's speed bounds any such pipeline on this corpus and this machine.

It prints the corpus composition, then for each contender MB/s (of the corpus text: the same bytes
for every contender; whole processes, start-up included, which weighs on a small --mb), the ratio
to the shell, CPU seconds and peak RSS of its process tree; then `--jobs 1` as a share of the
ceiling's speed, the seconds of each component, the 1 -> N jobs scaling, and whether --jobs N
output and rejects are byte-identical to --jobs 1. Start-up (rules, dictionaries and the despam
model loaded before any record; a run on one record, best of the rounds too) is serial whatever
--jobs says, so the scaling is also printed without it, and the scaling it allows on this corpus.

With --memory-mb it also runs zhclean on a small and on a large corpus and prints both peaks. These
two corpora do repeat the distinct records (fresh ids, streamed to the size): peak memory, all they
measure, does not depend on whether text repeats.

    python benchmarks/throughput.py --repeat 3 --memory-mb 1024

The machine is shared with other work: --repeat N runs the contenders in turn N times and reports
the fastest run of each; the load average before and after is printed with the figures.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import math
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

DATA = Path("/work/shared/data")
BENCH_PAGES = Path(__file__).resolve().parent / "data" / "pages"
ARTICLE_LINES = 20
SHUFFLE_SEED = 14  # fixed: the same corpus every run
MB = 1 << 20

SHELL = "shell: opencc -c t2s | python -m jieba -d ' '"
NAIVE = "naive chain: json, opencc, rjieba per line"
PER_LINE = "components, per line: json"
STARTUP = "zhclean run on one record (start-up)"
CEILING = "ceiling: components, per record: " + (
    "orjson" if importlib.util.find_spec("orjson") else "json (no orjson)")

# The naive chain's despam: what a peer jots down after one look at a hijacked page.
NAIVE_SPAM_WORDS = ("国产精品", "无码", "久久", "成人", "日韩", "亚洲", "博彩", "百家乐", "娱乐城")
NAIVE_SEPARATORS = 3  # this many `_` or `|` on a line: a header of spam titles


# ---------------------------------------------------------------- corpus

@dataclass
class Doc:
    source: str  # its row in the composition table
    id: str
    text: str
    url: str = ""
    spam_page: bool = False

    def jsonl(self, id_prefix: str = "") -> bytes:
        record = {"id": id_prefix + self.id, "title": "", "text": self.text, "url": self.url}
        return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def page_docs(raw: Path, source: str, name: str) -> Iterator[Doc]:
    for page in sorted(raw.glob("*.txt")):
        meta = json.loads(page.with_suffix(".meta.json").read_text())
        yield Doc(source, f"{name}/{page.stem}", page.read_text(encoding="utf-8"), meta["url"],
                  meta["kind"] == "spam")


def seed_docs(seed: Path) -> Iterator[Doc]:
    for page in sorted(seed.glob("*.txt")):
        # A hijacked page: SEO spam header and link farm around the article (seed/README.md).
        yield Doc("seed page", f"seed/{page.stem}", page.read_text(encoding="utf-8"), "", True)


def articles(source: str, name: str, lines: Iterable[str], size: int = ARTICLE_LINES
             ) -> Iterator[Doc]:
    lines = [line.strip() for line in lines if line.strip()]
    for i in range(0, len(lines), size):
        yield Doc(source, f"{name}#{i}", "\n".join(lines[i:i + size]))


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def sighan_docs(sighan: Path) -> Iterator[Doc]:
    for path in sorted(sighan.glob("*_test.utf8")):
        yield from articles("SIGHAN 2005 test, 20 lines", path.stem, read_lines(path))
    # icwb2-data's training text is segmented: spaces between the words.
    for path in sorted(sighan.glob("*_training.utf8")):
        yield from articles("SIGHAN 2005 training, 20 lines", path.stem,
                            ("".join(line.split()) for line in read_lines(path)))


def tsv_column(path: Path, column: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [row[column] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def ud_docs(ud: Path) -> Iterator[Doc]:
    for path in sorted(ud.glob("*.tsv")):
        yield from articles("UD GSD Traditional, 20 sentences", path.stem,
                            tsv_column(path, "traditional"))


def title_docs(titles: Path) -> Iterator[Doc]:
    for path in sorted(titles.glob("*.tsv")):
        for i, title in enumerate(tsv_column(path, "title")):
            yield Doc("headlines, 1 a record", f"{path.stem}#{i}", title)


def distinct_docs(data: Path, pages: Path) -> tuple[list[Doc], Counter]:
    """Every source's documents, those whose text (whitespace aside) was seen before dropped, the
    rest shuffled; and the repeats dropped per source (every source a key, in reading order)."""
    seen, docs, repeats = set(), [], Counter()
    for doc in chain(page_docs(data / "pages" / "raw", "pages, shared/data", "shared-pages"),
                     page_docs(pages / "raw", "pages, benchmarks/data", "bench-pages"),
                     seed_docs(data / "seed"), sighan_docs(data / "sighan2005"),
                     ud_docs(data / "ud-gsd"), title_docs(data / "titles")):
        repeats.setdefault(doc.source, 0)
        key = hashlib.blake2b("".join(doc.text.split()).encode(), digest_size=16).digest()
        if key in seen:
            repeats[doc.source] += 1
            continue
        seen.add(key)
        docs.append(doc)
    random.Random(SHUFFLE_SEED).shuffle(docs)
    return docs, repeats


def write_corpus(docs: list[Doc], jsonl: Path, text: Path, size: float) -> list[Doc]:
    """Each document once, in order, until `size` bytes of JSONL or the documents run out; `text`
    gets the same texts as plain text for the shell pipeline. Returns the documents written."""
    written = 0
    with open(jsonl, "wb") as out, open(text, "wb") as txt:
        for n, doc in enumerate(docs):
            if written >= size:
                return docs[:n]
            line = doc.jsonl()
            out.write(line)
            txt.write(doc.text.encode() + b"\n")
            written += len(line)
    return docs


def write_repeated(docs: list[Doc], jsonl: Path, size: int) -> None:
    """The documents over and over, fresh ids each round, until `size` bytes; streamed, so 1 GB is
    cheap. For the memory check only: peak memory does not depend on whether text repeats."""
    written = rep = 0
    with open(jsonl, "wb") as out:
        while written < size:
            for doc in docs:
                line = doc.jsonl(f"{rep}-")
                out.write(line)
                written += len(line)
                if written >= size:
                    return
            rep += 1


def print_composition(docs: list[Doc], repeats: Counter, jsonl: Path, text: Path,
                      available: int, asked_mb: float | None) -> None:
    records, size = Counter(), Counter()
    for doc in docs:
        records[doc.source] += 1
        size[doc.source] += len(doc.text.encode()) + 1
    spam = sum(len(doc.text.encode()) + 1 for doc in docs if doc.spam_page)
    print(f"{'corpus: each text once, shuffled':36}{'records':>9}{'MB text':>9}"
          f"{'repeats dropped':>17}")
    for source in repeats:
        print(f"  {source:34}{records[source]:9}{size[source] / MB:9.2f}{repeats[source]:17}")
    print(f"  {'total':34}{len(docs):9}{text.stat().st_size / MB:9.2f}{sum(repeats.values()):17}")
    print(f"  {jsonl.stat().st_size / MB:.2f} MB JSONL; spam pages (kind spam, and the seed) hold "
          f"{spam / text.stat().st_size:.0%} of the text bytes")
    if len(docs) < available:
        print(f"  --mb {asked_mb:g}: the first {len(docs)} of the {available} distinct records")
    elif asked_mb is not None:
        print(f"  --mb {asked_mb:g} asks for more than the distinct material holds: capped at "
              f"all of it, nothing repeated")


# ---------------------------------------------------------------- measuring

@dataclass
class Run:
    name: str
    seconds: float
    cpu: float
    max_rss_mb: float  # the largest single process (getrusage)
    tree_rss_mb: float  # the peak sum of RSS over the process tree (sampled from /proc)
    tree_pss_mb: float  # the same for PSS: pages shared by processes (fork, libraries) count once


def tree_pids(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process, in kB."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Rss", "Pss"):
                    found[key] = int(value.split()[0])
    except OSError:
        pass
    return found.get("Rss", 0), found.get("Pss", 0)


def timed(name: str, cmd: str | list, stdin=None, stdout=None) -> Run:
    """Run a command (a list, or a shell line), sampling the RSS of its process tree."""
    peak = [0, 0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), stdin=stdin, stdout=stdout)
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            tree = [memory_kb(p) for p in tree_pids(proc.pid)]
            peak[0] = max(peak[0], sum(rss for rss, _ in tree))
            peak[1] = max(peak[1], sum(pss for _, pss in tree))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # The corpus is well formed: any status but 0 (even zhclean's 1, unreadable input) is a fault.
    if proc.returncode != 0:
        sys.exit(f"{name}: exit status {proc.returncode}")
    return Run(name, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
               peak[0] / 1024, peak[1] / 1024)


def ensure_opencc() -> list[str]:
    """The OpenCC command line: Debian's `opencc`, installed if missing, else the Python
    binding's CLI."""
    if not shutil.which("opencc") and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq opencc", shell=True,
                       stdout=subprocess.DEVNULL)
    if shutil.which("opencc"):
        return ["opencc", "-c", "t2s"]
    return [sys.executable, "-m", "opencc.cli", "-c", "t2s"]


# ---------------------------------------------------------------- the Python contenders

def naive_spam(line: str) -> bool:
    return (any(word in line for word in NAIVE_SPAM_WORDS)
            or line.count("_") + line.count("|") >= NAIVE_SEPARATORS)


def naive_chain(corpus: Path) -> None:
    """The naive chain: records on stdout."""
    import opencc
    import rjieba

    t2s, jieba, write = opencc.OpenCC("t2s"), rjieba.Jieba(), sys.stdout.write
    with open(corpus, encoding="utf-8") as records:
        for row in records:
            record = json.loads(row)
            text = t2s.convert(record["text"])
            kept = [line for line in text.split("\n") if line.strip() and not naive_spam(line)]
            tokens = [token for line in kept for token in jieba.cut(line, True)]
            write(json.dumps({"id": record["id"], "text": "\n".join(kept), "tokens": tokens},
                             ensure_ascii=False) + "\n")


def components_plan(output: Path, rejects: Path, corpus: Path, plan: Path) -> None:
    """From a `zhclean run` of the corpus: per corpus record, one line `CONFIG I,J,...`: the
    OpenCC config zhclean used (- for none) and the text lines it dropped; `drop` for a record
    dropped whole."""
    configs = {}
    for line in open(output, encoding="utf-8"):
        record = json.loads(line)
        configs[record["id"]] = record["meta"]["convert"].get("config") or "-"
    dropped: dict[str, list[int]] = {}
    for line in open(rejects, encoding="utf-8"):
        reject = json.loads(line)
        if reject.get("line") is not None:
            dropped.setdefault(reject["id"], []).append(reject["line"])
    with open(plan, "w") as out:
        for line in open(corpus, encoding="utf-8"):
            rid = json.loads(line)["id"]
            lines = ",".join(map(str, dropped.get(rid, ())))
            out.write(f"{configs[rid]} {lines}\n" if rid in configs else "drop\n")


def codec(lean: bool):
    """(loads, dumps to a line of bytes): orjson for the ceiling where importable, else json."""
    if lean and importlib.util.find_spec("orjson"):
        import orjson
        return orjson.loads, lambda obj: orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    return json.loads, lambda obj: (json.dumps(obj, ensure_ascii=False) + "\n").encode()


def seconds_file(plan: Path, lean: bool) -> Path:
    return plan.with_suffix(".ceiling.seconds" if lean else ".per-line.seconds")


def components_alone(corpus: Path, plan: Path, lean: bool) -> None:
    """The work of the plan with OpenCC, jieba-rs and a JSON codec alone; records on stdout, the
    seconds spent in each component in seconds_file(). `lean`: one jieba-rs call per record
    (its tokens as they come, line breaks included) and orjson; else one call per kept line."""
    import opencc
    import rjieba

    jieba = rjieba.Jieba()
    loads, dumps = codec(lean)
    converters: dict[str, opencc.OpenCC] = {}
    write = sys.stdout.buffer.write
    clock = time.perf_counter
    spent = dict.fromkeys(("json in", "opencc", "jieba-rs", "json out"), 0.0)
    with open(corpus, "rb") as records, open(plan) as steps:
        for line, step in zip(records, steps):
            t0 = clock()
            record = loads(line)
            t1 = clock()
            config, _, dropped = step.rstrip("\n").partition(" ")
            if config == "drop":
                spent["json in"] += t1 - t0
                continue
            skip = {int(i) for i in dropped.split(",") if i}
            text = "\n".join(t for i, t in enumerate(record["text"].split("\n")) if i not in skip)
            t2 = clock()
            if config != "-":
                if config not in converters:
                    converters[config] = opencc.OpenCC(config)
                text = converters[config].convert(text)
            t3 = clock()
            if lean:
                tokens = jieba.cut(text, True)
            else:
                tokens = [token for kept in text.split("\n") for token in jieba.cut(kept, True)]
            t4 = clock()
            write(dumps({"id": record["id"], "text": text, "tokens": tokens}))
            t5 = clock()
            for key, seconds in zip(spent, (t1 - t0, t3 - t2, t4 - t3, t5 - t4)):
                spent[key] += seconds
    seconds_file(plan, lean).write_text(json.dumps(spent))


# ---------------------------------------------------------------- the runs

@dataclass
class Contender:
    name: str
    command: str | list
    stdout: Path
    stdin: Path | None = None

    def run(self) -> Run:
        with (open(self.stdin, "rb") if self.stdin else open(os.devnull, "rb")) as src, \
                open(self.stdout, "wb") as sink:
            return timed(self.name, self.command, src, sink)


def zhclean(*args) -> list[str]:
    return [sys.executable, "-m", "zhclean", "run", *map(str, args)]


def zhclean_name(jobs: int) -> str:
    return f"zhclean run --jobs {jobs}"


def job_counts(args) -> list[int]:
    return list(dict.fromkeys((1, args.jobs)))


def contenders(args, work: Path, jsonl: Path, text: Path, plan: Path) -> list[Contender]:
    me = [sys.executable, __file__]
    found = []
    if not args.skip_shell:
        shell = f"{' '.join(ensure_opencc())} | {sys.executable} -m jieba -d ' ' 2>/dev/null"
        found.append(Contender(SHELL, shell, work / "shell.out", text))
    found.append(Contender(NAIVE, me + ["--naive-chain", str(jsonl)], work / "naive.jsonl"))
    for jobs in job_counts(args):
        command = zhclean(jsonl, "--jobs", jobs, "--rejects", work / f"jobs{jobs}.rejects.jsonl")
        found.append(Contender(zhclean_name(jobs), command, work / f"jobs{jobs}.jsonl"))
    if args.jobs > 1:  # only the scaling reads it (print_findings)
        found.append(Contender(STARTUP, zhclean(one_record(jsonl, work)), work / "one-record.out"))
    for name, flag, out in ((PER_LINE, "--components-alone", "per-line.jsonl"),
                            (CEILING, "--lean-components", "ceiling.jsonl")):
        found.append(Contender(name, me + [flag, str(jsonl), str(plan)], work / out))
    return found


def one_record(jsonl: Path, work: Path) -> Path:
    """A JSONL file of the corpus's first record (zhclean's start-up run)."""
    path = work / "one-record.jsonl"
    with open(jsonl, "rb") as corpus:
        path.write_bytes(corpus.readline())
    return path


def best_of_rounds(args, work: Path, jsonl: Path, todo: list[Contender], plan: Path
                   ) -> dict[str, Run]:
    """Rounds in turn, the fastest of each contender kept: load from other work on a shared
    machine slows single runs, not the best of several. The components' plan is what the first
    `--jobs 1` run did (the components run after it)."""
    plan.unlink(missing_ok=True)
    best: dict[str, Run] = {}
    for _ in range(args.repeat):
        for contender in todo:
            run = contender.run()
            if contender.name == zhclean_name(1) and not plan.exists():
                components_plan(contender.stdout, work / "jobs1.rejects.jsonl", jsonl, plan)
            if contender.name not in best or run.seconds < best[contender.name].seconds:
                best[contender.name] = run
    return best


# ---------------------------------------------------------------- report

def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def print_runs(args, runs: dict[str, Run], text_bytes: int) -> None:
    print(f"best of {args.repeat} round(s); load average (1, 5, 15 min) before: "
          f"{args.load_before}, after: {load_average()}")
    print(f"{'':48}{'seconds':>9}{'MB/s':>8}{'x shell':>9}{'cpu s':>8}{'max RSS':>9}"
          f"{'tree RSS':>10}{'tree PSS':>10}")
    shell = runs.get(SHELL)
    for r in runs.values():
        if r.name == STARTUP:  # no corpus read: its MB/s would mean nothing (print_findings)
            continue
        ratio = f"{shell.seconds / r.seconds:9.2f}" if shell else f"{'-':>9}"
        print(f"{r.name:48}{r.seconds:9.2f}{text_bytes / MB / r.seconds:8.2f}{ratio}{r.cpu:8.2f}"
              f"{r.max_rss_mb:8.0f}M{r.tree_rss_mb:9.0f}M{r.tree_pss_mb:9.0f}M")


def print_findings(args, runs: dict[str, Run], text_bytes: int, work: Path, plan: Path) -> None:
    one, many = runs[zhclean_name(1)], runs[zhclean_name(args.jobs)]
    print(f"zhclean run --jobs 1 runs at {runs[CEILING].seconds / one.seconds:.0%} of the "
          f"ceiling's speed ({runs[PER_LINE].seconds / one.seconds:.0%} of the per-line "
          f"components')")
    for name, lean in ((PER_LINE, False), (CEILING, True)):
        spent = json.loads(seconds_file(plan, lean).read_text())
        print(f"{name.partition(':')[0]}, last round, seconds in each: " + ", ".join(
            f"{part} {seconds:.2f} ({text_bytes / MB / max(seconds, 1e-6):.0f} MB/s)"
            for part, seconds in spent.items()))
    if args.jobs == 1:
        return
    print(f"--jobs 1 -> --jobs {args.jobs}: {one.seconds / many.seconds:.2f}x")
    start = runs[STARTUP].seconds
    if many.seconds > start:  # a corpus too small to time past start-up says nothing here
        print(f"start-up (a run on one record): {start:.2f} s, serial at any --jobs; after it, "
              f"--jobs 1 -> --jobs {args.jobs}: "
              f"{(one.seconds - start) / (many.seconds - start):.2f}x; the rest scaled "
              f"perfectly would give "
              f"{one.seconds / (start + (one.seconds - start) / args.jobs):.2f}x")
    same = [(work / f"jobs{jobs}{kind}").read_bytes() for kind in (".jsonl", ".rejects.jsonl")
            for jobs in (1, args.jobs)]
    print(f"--jobs {args.jobs} byte-identical to --jobs 1: output {same[0] == same[1]}, "
          f"rejects {same[2] == same[3]}")


def throughput(args, docs: list[Doc], repeats: Counter, work: Path) -> None:
    jsonl, text, plan = work / "corpus.jsonl", work / "corpus.txt", work / "components.plan"
    size = math.inf if args.mb is None else args.mb * MB
    written = write_corpus(docs, jsonl, text, size)
    print_composition(written, repeats, jsonl, text, len(docs), args.mb)
    todo = contenders(args, work, jsonl, text, plan)
    runs = best_of_rounds(args, work, jsonl, todo, plan)
    text_bytes = text.stat().st_size
    print_runs(args, runs, text_bytes)
    print_findings(args, runs, text_bytes, work, plan)


def memory(args, docs: list[Doc], work: Path) -> None:
    """Peak memory of zhclean on --small-mb and --memory-mb of the records repeated: allowed here,
    where memory is all that is measured and does not depend on repeats (and there is not 1 GB of
    distinct text)."""
    print(f"memory: zhclean run --jobs {args.jobs}, output to /dev/null (the distinct records "
          f"repeated, fresh ids, to the size)")
    print(f"{'input':>10}{'seconds':>9}{'MB/s':>8}{'max RSS':>9}{'tree RSS':>10}{'tree PSS':>10}")
    for size in (args.small_mb, args.memory_mb):
        jsonl = work / f"memory-{size}.jsonl"
        write_repeated(docs, jsonl, size * MB)
        real = jsonl.stat().st_size
        with open(os.devnull, "wb") as sink:
            r = timed(f"{size} MB", zhclean(jsonl, "--jobs", args.jobs), stdout=sink)
        jsonl.unlink()
        print(f"{real / MB:8.0f}MB{r.seconds:9.1f}{real / MB / r.seconds:8.2f}"
              f"{r.max_rss_mb:8.0f}M{r.tree_rss_mb:9.0f}M{r.tree_pss_mb:9.0f}M")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=None,
                        help="corpus size in JSONL MB (default: all the distinct material; more "
                             "is capped at it, never repeated; 0: skip the throughput runs)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pages", type=Path, default=BENCH_PAGES,
                        help="the project's labelled pages (raw/ is read)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/zhclean-throughput"))
    parser.add_argument("--skip-shell", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of runs; each contender's fastest is reported")
    parser.add_argument("--memory-mb", type=int, default=0,
                        help="also compare peak RSS for --small-mb and this size (0: skip)")
    parser.add_argument("--small-mb", type=int, default=10)
    # The Python contenders themselves, run by this script.
    parser.add_argument("--naive-chain", type=Path, metavar="CORPUS", help=argparse.SUPPRESS)
    parser.add_argument("--components-alone", nargs=2, type=Path, metavar=("CORPUS", "PLAN"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--lean-components", nargs=2, type=Path, metavar=("CORPUS", "PLAN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_chain:
        return naive_chain(args.naive_chain)
    if args.components_alone or args.lean_components:
        return components_alone(*(args.components_alone or args.lean_components),
                                lean=bool(args.lean_components))
    args.load_before = load_average()
    args.workdir.mkdir(parents=True, exist_ok=True)
    docs, repeats = distinct_docs(args.data, args.pages)
    if args.mb != 0:
        throughput(args, docs, repeats, args.workdir)
    if args.memory_mb:
        memory(args, docs, args.workdir)


if __name__ == "__main__":
    main()
