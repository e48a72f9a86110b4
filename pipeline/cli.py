"""The `zhclean` command line: parses options into Settings and hands them to the runner.
No cleaning logic lives here."""
from __future__ import annotations

import errno
import logging
import math
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import wraps

import click

from . import __version__
from . import config as configfile
from .readers import (COMPRESSIONS, MAX_RECORD_BYTES, FieldMap, Globs, InputError,
                              expand_paths, read_inputs)
from .rules import RuleError
from . import interrupts, parallel
from .records import Notice, Reject
from .report import LateRejects, ReportCollector
from .runner import MB, ErrorReport, Stats, run_stream
from .state import State, StateError, StateLocked
from .stages import ORDER, Settings, build_stages, named_stages
from .stages.convert import CONFIGS, ConvertOptions
from .stages.despam import DespamOptions, Normaliser
from .stages.segment import ENGINES, FORMATS, MODES, OptionsError, SegmentOptions
from .templates import SAMPLE_RECORDS, TemplateCounter, site_of
from .writers import JsonlWriter, NullWriter, OutputClosed, replaceable

# Exit statuses (documented in the README).
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # the run finished, but some input could not be read (see stderr, rejects)
EXIT_USAGE = 2  # bad options or a missing input path (Click uses 2 as well)
EXIT_BROKEN_FILE = 3  # a rule file, the --config file or the --state file is broken
EXIT_LOCKED = 4  # another run holds the --state file
EXIT_OUTPUT = 5  # an output (-o, --rejects, --stats, --state) could not be written
EXIT_WORKER_DIED = 6  # a --jobs worker process was killed (out of memory, kill -9)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


log = logging.getLogger("zhclean")

# Input paths: one that cannot be read is reported by the reader (exit status 1, a reject), as
# a file in a directory is, not refused as a usage error; a missing one is (expand_paths).
INPUT_PATH = click.Path(allow_dash=True, readable=False)


def _compose(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


verbosity_options = _compose(
    click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
    click.option("-v", "--verbose", is_flag=True, help="Print a summary on stderr."),
)
output_options = _compose(
    click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
                 help="Write records here (atomically) instead of stdout."),
    click.option("--rejects", type=click.Path(dir_okay=False),
                 help="Write every dropped line and record here, with its reason. "
                      "Default with -o OUT: OUT's name with .rejects.jsonl."),
    verbosity_options,
    click.option("--stats", "stats_path", type=click.Path(dir_okay=False),
                 help="Write a JSON summary here: records in and out, rejects by stage and "
                      "reason, inputs, bytes, seconds, MB/s."),
    click.option("--report", type=click.Path(dir_okay=False),
                 help="Write an HTML page here: the summary, rejects by reason with examples "
                      "in their page, the records that lost most, the inputs not read."),
)
def _near_dup_threshold(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """The thresholds pipeline.dedup accepts; the default needs no check (nor numpy imported)."""
    if ctx.get_parameter_source(param.name) is click.core.ParameterSource.DEFAULT:
        return value
    from .dedup import DedupOptions

    try:
        DedupOptions(near_threshold=value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None
    return value


batch_options = _compose(
    click.option("--state", type=click.Path(dir_okay=False),
                 help="SQLite state: skip inputs processed before, deduplicate across runs, "
                      "lock out a second run, recover from a killed one."),
    click.option("--dedup/--no-dedup", default=None,
                 help="Drop exact and near duplicate articles (rejects: duplicate_of). "
                      "Default: on with --state, off without."),
    click.option("--near-dup-threshold", type=click.FloatRange(0, 1, min_open=True), default=0.5,
                 show_default=True, callback=_near_dup_threshold,
                 help="Jaccard similarity of character 5-grams from which an article is a near "
                      "duplicate: 0 < T <= 0.98 (the highest the MinHash index can band), or 1 "
                      "for exact copies only."),
)
read_options = _compose(
    click.option("--text-field", default="text", show_default=True,
                 help="JSONL input: the field holding the article text."),
    click.option("--title-field", default="title", show_default=True,
                 help="JSONL input: the field holding the title."),
    click.option("--id-field", default="id", show_default=True,
                 help="JSONL input: the field holding the id."),
    click.option("--lines", is_flag=True,
                 help="Text input: a record per line (a file of headlines or sentences), its id "
                      "derived from the file and line number; blank lines are skipped."),
)


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """FloatRange lets inf and nan through."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of megabytes", ctx, param)
    return value


input_options = _compose(
    click.option("--max-record-mb", type=click.FloatRange(0, min_open=True),
                 default=MAX_RECORD_BYTES / MB, show_default=True, callback=_finite,
                 help="A record larger than this (a JSONL line or array element, a .txt or "
                      ".html file once decompressed) is rejected as too_large with its head, "
                      "never read whole, so memory stays bounded."),
    click.option("--include", multiple=True, metavar="GLOB",
                 help="Directory inputs: read only the files whose path below the directory "
                      "matches GLOB (repeatable; fnmatch, * matches / too)."),
    click.option("--exclude", multiple=True, metavar="GLOB",
                 help="Directory inputs: do not read the files whose path below the directory "
                      "matches GLOB (repeatable); -v lists them."),
)
rules_option = click.option(
    "--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False, exists=True),
    help="A directory of rule files that add to or override the shipped rules/ (repeatable).")
def _config_moved(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """The old spelling of --opencc-config, which read like the configuration file's option."""
    if value is not None:
        raise click.UsageError(
            f"{ctx.info_name} --config is now --opencc-config (the OpenCC configuration: "
            f"--opencc-config {value}); a configuration file goes before the command: "
            f"zhclean --config FILE {ctx.info_name}")


convert_options = _compose(
    click.option("--opencc-config", "convert_config", type=click.Choice(CONFIGS),
                 default="auto", show_default=True,
                 help="OpenCC configuration; auto picks one per record."),
    click.option("--config", hidden=True, expose_value=False, callback=_config_moved),
    click.option("--keep-quotes", is_flag=True, help="Keep corner quotes 「」『』 as they are."),
)


site_field_option = click.option(
    "--site-field", default="url", show_default=True,
    help="The field naming a record's site for template lines: its host when it holds a URL, "
         "else its value.")
despam_options = _compose(
    click.option("--templates", type=click.Path(dir_okay=False, exists=True),
                 help="A table of the lines records of one site share (`zhclean templates`): "
                      "evidence that a line is the site's template."),
    site_field_option,
)


def segmenter_option(name: str):
    """`segment --engine`; on `run` it is --segmenter, as --engine picks local or Ray there."""
    return click.option(
        name, "segment_engine", type=click.Choice(ENGINES), default="jieba-rs", show_default=True,
        help="jieba-rs (fast) or jieba (the reference Python package).")


segment_options = _compose(
    click.option("--mode", type=click.Choice(MODES), default="accurate", show_default=True),
    click.option("--hmm/--no-hmm", default=True, show_default=True,
                 help="Find words missing from the dictionary with jieba's HMM."),
    click.option("--userdict", "userdicts", multiple=True, type=click.Path(exists=True,
                 dir_okay=False), help="A user dictionary in jieba's format (repeatable)."),
    click.option("--remove-stopwords", is_flag=True, help="Drop stopwords from tokens."),
    click.option("--stopwords", type=click.Path(exists=True, dir_okay=False),
                 help="A stopword list replacing rules/stopwords.txt (implies removal)."),
    click.option("--pos", is_flag=True,
                 help="Add jieba's part-of-speech tags as a pos field parallel to tokens "
                      "(accurate mode)."),
    click.option("--format", "token_format", type=click.Choice(FORMATS), default="list",
                 show_default=True,
                 help="tokens (and pos) as a JSON list, or text: one space-joined string."),
    click.option("--keep-script", is_flag=True,
                 help="Keep the original script: tokens cut from the text as it reaches segment, "
                      "with the boundaries found on its OpenCC t2s conversion (accurate mode). "
                      "On run, convert then normalises without converting, so Traditional text "
                      "gives Traditional text and tokens."),
)


def settings_from(opts: dict) -> Settings:
    return Settings(
        rules_dirs=tuple(opts.get("rules_dirs") or ()),
        convert=ConvertOptions(config=opts.get("convert_config", "auto"),
                               keep_quotes=opts.get("keep_quotes", False),
                               keep_script=opts.get("keep_script", False)),
        despam=DespamOptions(templates=opts.get("templates"),
                             site_field=opts.get("site_field", "url")),
        segment=SegmentOptions(
            engine=opts.get("segment_engine", "jieba-rs"), mode=opts.get("mode", "accurate"),
            hmm=opts.get("hmm", True), userdicts=tuple(opts.get("userdicts") or ()),
            remove_stopwords=bool(opts.get("remove_stopwords") or opts.get("stopwords")),
            stopwords=opts.get("stopwords"), pos=opts.get("pos", False),
            format=opts.get("token_format", "list"), keep_script=opts.get("keep_script", False)),
    )


def default_rejects_path(output: str | None) -> str | None:
    """OUT.jsonl -> OUT.rejects.jsonl; OUT.jsonl.gz -> OUT.rejects.jsonl.gz."""
    if output in (None, "-"):
        return None
    compression = next((c for c in COMPRESSIONS if output.lower().endswith(c)), "")
    stem = output[:len(output) - len(compression)]
    stem = stem[:-6] if stem.endswith(".jsonl") else stem
    return stem + ".rejects.jsonl" + compression


def fields_from(opts: dict) -> FieldMap:
    return FieldMap(text=opts.get("text_field", "text"), title=opts.get("title_field", "title"),
                    id=opts.get("id_field", "id"))


def record_limit(opts: dict) -> int:
    """--max-record-mb in bytes."""
    return round(opts.get("max_record_mb", MAX_RECORD_BYTES / MB) * MB)


def check_inputs(paths, only_jsonl: bool, ignored: Counter, opts: dict) -> list[str]:
    """The input files: every one must exist before anything is written; no paths means stdin,
    which must not be a terminal. What a directory holds and is not read (--include and
    --exclude too) is listed under -v and counted by reason in `ignored`."""
    globs = Globs(tuple(opts.get("include") or ()), tuple(opts.get("exclude") or ()))
    files = list(expand_paths(paths, only_jsonl, _ignoring(ignored), globs))
    if not paths and sys.stdin.isatty():
        raise InputError("no input: name files or directories, or pipe JSONL into stdin")
    return files


def _ignoring(counts: Counter):
    """expand_paths' on_ignored: each file listed under -v, and counted for --stats."""
    def ignored(path: str, reason: str) -> None:
        log.info("%s: ignored: %s", path, reason.replace("_", " "))
        counts[reason] += 1
    return ignored


OUTPUT_OPTIONS = {"output": "-o", "rejects": "--rejects", "stats_path": "--stats",
                  "report": "--report", "state": "--state"}


def check_outputs(opts: dict, inputs: list[str], rejects_path: str | None) -> None:
    """Before the run starts: the options about what is written go together, every file it
    will write has a directory to go in, and no two of them (nor an output and an input) are the
    same file: one would overwrite the other."""
    if opts.get("quiet") and opts.get("verbose"):
        raise InputError("-q (only errors) and -v (a summary) do not go together")
    if opts.get("explain"):
        given = [flag for option, flag in OUTPUT_OPTIONS.items() if opts.get(option)]
        if given:
            raise InputError(f"--explain prints its report on stdout: {', '.join(given)} "
                             "would write nothing")
    if opts.get("rejects") == "-" and opts.get("output") in (None, "-"):
        raise InputError("--rejects - needs -o FILE: records and rejects would share stdout")
    paths = {**opts, "rejects": rejects_path}
    seen = {os.path.realpath(path): f"input {path}" for path in inputs if path != "-"}
    for option, flag in OUTPUT_OPTIONS.items():
        path = paths.get(option)
        if not path or path == "-":
            continue
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise FileNotFoundError(errno.ENOENT, "no such directory to write in", path)
        if not replaceable(path):  # /dev/null, /dev/stderr, a FIFO: shared freely
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{flag} {path} is the same file as {seen[real]}")
        seen[real] = f"{flag} {path}"


@contextmanager
def exit_statuses():
    """The errors a run can meet, as one line on stderr and a documented exit status."""
    try:
        yield
    except (InputError, OptionsError) as e:
        raise click.UsageError(str(e)) from None
    except RuleError as e:
        _fail(f"rule error: {e}", EXIT_BROKEN_FILE)
    except StateLocked as e:
        _fail(str(e), EXIT_LOCKED)
    except StateError as e:
        _fail(f"state error: {e}", EXIT_BROKEN_FILE)
    except (OutputClosed, BrokenPipeError):  # the reader went away (`| head`)
        _silence_stdout()
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except interrupts.Stopped as e:
        _fail(f"stopped by {signal.Signals(e.signum).name}", 128 + e.signum)
    except BrokenProcessPool:
        _fail("a worker process died (killed, or out of memory); the run stopped",
              EXIT_WORKER_DIED)
    except sqlite3.Error as e:  # the state could be opened (else StateError), not written
        _fail(f"cannot write the state: {e}", EXIT_OUTPUT)
    except OSError as e:  # the readers report their own; this is an output that failed
        _fail(f"cannot write {e.filename or 'output'}: {e.strerror or e}", EXIT_OUTPUT)


def _fail(message: str, status: int) -> None:
    click.echo(f"zhclean: {message}", err=True)
    sys.exit(status)


def execute(paths, stage_names, opts, *, only_jsonl: bool) -> None:
    """Read inputs, run the stages, write output and rejects; exit with a documented status."""
    _setup_logging(opts.get("quiet"), opts.get("verbose"))
    interrupts.install()
    rejects_path = opts.get("rejects") or default_rejects_path(opts.get("output"))
    stats = Stats()
    with exit_statuses():
        files = check_inputs(paths, only_jsonl, stats.files_ignored, opts)
        check_outputs(opts, files, rejects_path)
        settings = settings_from(opts)
        stages = named_stages(stage_names, settings)
        if opts.get("explain"):
            despammer = stages[0][1]
            sys.exit(each_record(files, opts, lambda record: explain_record(record, despammer),
                                 only_jsonl=only_jsonl))
    fields = fields_from(opts)
    started = time.monotonic()
    with exit_statuses():
        # The stats file is opened first, so that a place where it cannot be written stops the
        # run before anything is processed or committed; the summary goes in last, and with a
        # state it is staged and published with the outputs.
        stats_path = opts.get("stats_path")
        # --report: opened, staged and published as the stats file is; fed every item.
        report_path = opts.get("report")
        collector = ReportCollector() if report_path else None
        with State(opts.get("state")) as state:
            with state.writer(stats_path) if stats_path else NullWriter() as stats_out, \
                    state.writer(report_path) if report_path else NullWriter() as report_out:
                inputs, stats.inputs_skipped = state.select(files)
                if state.persistent and not inputs:
                    log.info("nothing to do: %d inputs unchanged since the last run",
                             stats.inputs_skipped)
                else:
                    stats.inputs_read = len(inputs)
                    stats.bytes_in = sum(_size(i.path) for i in inputs)
                    selected = tuple(i.path for i in inputs)
                    out_writer = state.writer(opts.get("output"))
                    rejects_writer = state.writer(rejects_path) if rejects_path else NullWriter()
                    state.begin()
                    sink_for = _dedup_sink(state, opts, stats)
                    jobs = opts.get("jobs") or 1
                    progress = Progress(stats) if on_terminal(opts.get("quiet")) else None
                    items = read_inputs(
                        selected, fields, only_jsonl, expanded=True,
                        chunk_bytes=parallel.CHUNK_BYTES if jobs > 1 else None,
                        max_record_bytes=record_limit(opts), on_read=progress,
                        lines=opts.get("lines", False))
                    items = progress.shown(items) if progress else items
                    with out_writer as out, rejects_writer as rejects, ErrorReport() as errors:
                        sink = sink_for(out, LateRejects(rejects, collector) if collector
                                        else rejects)
                        if jobs > 1:
                            parallel.run_parallel(items, stages, settings, sink, rejects, stats,
                                                  jobs=jobs, keep_rejects=rejects_path is not None,
                                                  on_input_error=errors, collector=collector)
                        else:
                            run_stream(items, stages, sink, rejects, stats, errors,
                                       collector.observe if collector else None)
                stats.seconds = time.monotonic() - started
                summary = stats.summary() if inputs else _summary_to_report(state, stats)
                stats_out.write(summary)
                if collector:
                    report_out.write_bytes(collector.html(summary).encode("utf-8"))
            state.commit(summary)
    if opts.get("verbose") or on_terminal(opts.get("quiet")):  # a person watching: the outcome
        _print_summary(summary)
    sys.exit(EXIT_BAD_INPUT if summary["input_errors"] else EXIT_OK)


def _summary_to_report(state: State, stats: Stats) -> dict:
    """When every input was done already: the summary of the last run if it was killed after its
    commit, before it could report it (its outputs are published now), else this run's."""
    killed = state.unreported()
    if not killed:
        return stats.summary()
    log.log(logging.ERROR if killed["input_errors"] else logging.WARNING,
            "the last run on %s was killed after its commit: its outputs are published now; "
            "it read %d records and met %d input errors", state.path, killed["records_in"],
            killed["input_errors"])
    return killed


def _size(path: str) -> int:
    """An input's size on disk; 0 for stdin and for what cannot be read (the reader reports it)."""
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0


def _dedup_sink(state: State, opts: dict, stats: Stats):
    """(out, rejects) -> where the records go: out itself, or a DedupFilter in front of it."""
    dedup = opts.get("dedup")
    if not (dedup or (dedup is None and state.persistent)):
        return lambda out, rejects: out
    from .dedup import DedupError, DedupFilter, Deduper, DedupOptions  # numpy, scipy

    try:
        deduper = Deduper(state.conn, DedupOptions(near_threshold=opts["near_dup_threshold"]))
    except DedupError as e:
        raise StateError(f"{state.path}: {e}") from None
    return lambda out, rejects: DedupFilter(deduper, out, rejects, stats)


def on_terminal(quiet: bool) -> bool:
    """A person is watching stderr: never in a pipe, a file or cron, nor with -q."""
    return not quiet and sys.stderr is not None and sys.stderr.isatty()


class Progress:
    """The status line on a terminal: bytes read from the inputs (on disk, compressed) of their
    size, the share, MB/s, the time left and the records, redrawn twice a second. Called with
    the bytes each read takes from the disk (read_inputs' on_read)."""

    def __init__(self, stats: Stats):
        self.stats = stats
        self.read = 0
        self.started = time.monotonic()

    def __call__(self, n: int) -> None:
        self.read += n

    def shown(self, items):
        """items unchanged, the line redrawn as they pass, and cleared however they end; a
        message logged meanwhile clears it first (see _setup_logging)."""
        drawn = 0.0
        try:
            for item in items:
                if time.monotonic() - drawn >= 0.5:
                    drawn = time.monotonic()
                    click.echo(CLEAR_LINE + self.line(drawn - self.started), err=True, nl=False)
                yield item
        finally:
            click.echo(CLEAR_LINE, err=True, nl=False)

    def line(self, seconds: float) -> str:
        records = f"{self.stats.records_in:,} records in, {self.stats.records_out:,} out"
        if not self.read:  # stdin: its size is not known, nor counted
            return f"zhclean: {records}"
        total, rate = self.stats.bytes_in, self.read / seconds if seconds > 0 else 0.0
        done = f"{self.read / MB:,.1f} MB"
        if total:
            done += f" of {total / MB:,.1f} MB ({min(self.read / total, 1.0):.0%})"
        parts = [done, f"{rate / MB:.1f} MB/s"]
        if total and rate and self.read < total:
            left = int((total - self.read) / rate)
            parts.append(f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d} left")
        return f"zhclean: {', '.join(parts)}; {records}"


def _print_summary(s: dict) -> None:
    """-v: the summary (Stats.summary) on one line."""
    rejects = "; ".join(f"{stage} " + ", ".join(f"{reason} {n}" for reason, n in reasons.items())
                        for stage, reasons in s["rejects"].items()) or "none"
    ignored = ", ".join(f"{reason} {n}" for reason, n in s["files_ignored"].items())
    click.echo(f"zhclean: {s['records_in']} records in, {s['records_out']} out, "
               f"{s['input_errors']} input errors; rejects: {rejects}"
               + (f"; files ignored: {ignored}" if ignored else ""), err=True)


# Back to the start of the line, and the line erased: what the progress line is drawn over.
CLEAR_LINE = "\r\033[K"


def _setup_logging(quiet: bool, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    # On a terminal a message first erases the progress line it would otherwise run into.
    erase = CLEAR_LINE if on_terminal(quiet) else ""
    handler.setFormatter(logging.Formatter(erase + "zhclean: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


def _silence_stdout() -> None:
    # The reader left (`| head`); point stdout at /dev/null so the final flush cannot complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _stage_command(name: str, extra_options, help_text: str):
    """A JSONL-in, JSONL-out command for one stage."""
    @main.command(name, help=help_text)
    @click.argument("paths", nargs=-1, type=INPUT_PATH)
    @extra_options
    @input_options
    @rules_option
    @output_options
    @wraps(lambda **opts: None)
    def command(paths, **opts):
        execute(paths, (name,), opts, only_jsonl=True)
    return command


def _load_config(ctx: click.Context, param, path: str | None) -> None:
    if path:
        try:
            ctx.default_map = configfile.default_map(ctx.command, path)
        except configfile.ConfigError as e:
            ctx.meta["zhclean.config_error"] = e  # reported by Command.invoke
            return
        ctx.meta["zhclean.config"] = os.path.abspath(path)


class Command(click.Command):
    """A broken configuration file stops a command when it runs, not when it parses: the group
    reads the file before a command sees its --help, which must work whatever the file holds."""

    def invoke(self, ctx: click.Context):
        error = ctx.find_root().meta.get("zhclean.config_error")
        if error:
            _fail(f"config error: {error}", EXIT_BROKEN_FILE)
        return super().invoke(ctx)


class Group(click.Group):
    command_class = Command
    group_class = type  # `config` too, so that `config show` is a Command


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zhclean")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="ZHCLEAN_CONFIG",
              callback=_load_config, expose_value=False, is_eager=True,
              help="A TOML file of options, a table per command (see `zhclean config show`); "
                   "flags override it. Default: $ZHCLEAN_CONFIG.")
def main():
    """Clean dirty Chinese news pages into Simplified, segmented JSONL.

    Every command reads files, directories or - (stdin) and writes JSONL to stdout or -o FILE;
    dropped lines and records go to --rejects FILE with their reason."""


@main.command()
@click.argument("paths", nargs=-1, type=INPUT_PATH)
@read_options
@input_options
@output_options
def read(paths, **opts):
    """Turn raw inputs (.jsonl, .txt, .html, compressed too) into records."""
    execute(paths, (), opts, only_jsonl=False)


_stage_command("convert", convert_options,
               "Normalise and convert Traditional text to Simplified (Simplified is left alone).")
_stage_command("despam", _compose(despam_options, click.option(
    "--explain", is_flag=True, help="Print each line with its decision, reason and score "
                                    "instead of writing records.")),
    "Drop SEO spam, HTML residue, page chrome and blank lines.")

EXPLAIN_COLOURS = {None: "green", "spam_title": "red", "html": "magenta",
                   "boilerplate": "yellow", "mojibake": "cyan", "blank": "bright_black"}


@main.command()
@click.argument("paths", nargs=-1, type=INPUT_PATH)
@read_options
@input_options
@despam_options
@rules_option
def explain(paths, **opts):
    """Show why despam keeps or drops each line of raw or JSONL input (coloured on a terminal)."""
    execute(paths, ("despam",), dict(opts, explain=True), only_jsonl=False)


def each_record(files, opts, handle, *, only_jsonl: bool) -> int:
    """handle(record) for every record of the inputs (explain, templates). Returns the exit
    status: input that could not be read is reported as `run` reports it."""
    status = EXIT_OK
    with ErrorReport() as errors:
        for record in read_inputs(tuple(files), fields_from(opts), only_jsonl=only_jsonl,
                                  max_record_bytes=record_limit(opts), expanded=True,
                                  lines=opts.get("lines", False)):
            if isinstance(record, Notice):
                continue
            if isinstance(record, Reject):
                errors(record)
                status = EXIT_BAD_INPUT
                continue
            handle(record)
    return status


def explain_record(record: dict, despammer) -> None:
    click.secho(f"== {record['source']} {record['id']} {record.get('title', '')}", bold=True)
    for d in despammer.decide(record["text"].split("\n"), despammer.site(record)):
        label = click.style(f"{d.reason or 'keep':<11}", fg=EXPLAIN_COLOURS.get(d.reason))
        evidence = f"  [{d.evidence}]" if d.evidence else ""
        click.echo(f"{d.index:>5} {label} {d.score:5.2f}  {d.text.strip()[:100]}{evidence}")


_stage_command("segment", _compose(segmenter_option("--engine"), segment_options),
               "Segment text into words (tokens).")


@main.command()
@click.argument("paths", nargs=-1, type=INPUT_PATH)
@read_options
@input_options
@convert_options
@rules_option
@site_field_option
@click.option("--sample", type=click.IntRange(min=1), default=SAMPLE_RECORDS, show_default=True,
              help="Records counted per site: a template shows in the first ones already, and "
                   "memory stays bounded.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the table here (atomically) instead of stdout.")
@verbosity_options
def templates(paths, sample, **opts):
    """Count the lines that records of one site share (menus, notices, footers) into a table
    for `despam --templates` and `run --templates`. Lines are counted as `run` hands them to
    despam: converted, then normalised."""
    _setup_logging(opts.get("quiet"), opts.get("verbose"))
    with exit_statuses():
        files = check_inputs(paths, False, Counter(), opts)
        check_outputs(opts, files, None)
        convert = build_stages(("convert",), settings_from(opts))[0]
        normaliser, counter = Normaliser(), TemplateCounter(sample)

        def count(record: dict) -> None:
            site = site_of(record, opts["site_field"])
            converted = convert(record)[0]
            if converted is not None:
                counter.add(site, normaliser.lines(converted["text"].split("\n")))

        status = each_record(files, opts, count, only_jsonl=False)
        table = counter.table()
        with JsonlWriter(opts.get("output")) as out:
            out.write_bytes(table.to_tsv().encode("utf-8"))
    log.info("%d records of %d sites counted; %d template lines of %d sites",
             sum(counter.records.values()), len(counter.records),
             sum(map(len, table.lines.values())), len(table.lines))
    sys.exit(status)


@main.command()
@click.argument("paths", nargs=-1, type=INPUT_PATH)
@read_options
@input_options
@convert_options
@despam_options
@segmenter_option("--segmenter")
@segment_options
@rules_option
@output_options
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=parallel.default_jobs,
              show_default="all cores", help="Worker processes; output stays in input order.")
@click.option("--engine", type=click.Choice(("local", "ray")), default="local", show_default=True,
              help="ray: Ray Data; one output and one rejects shard per input file, in the "
                   "new directories -o DIR and --rejects DIR.")
@click.option("--address", help="--engine ray: the Ray cluster to join (e.g. auto); "
                                "default: start Ray on this machine.")
@batch_options
@click.pass_context
def run(ctx, paths, engine, address, **opts):
    """Read and run every stage in one pass: equal to
    `zhclean read ... | zhclean convert | zhclean despam | zhclean segment`."""
    if engine == "ray" and (opts.get("state") or opts.get("dedup")):
        raise click.UsageError("--state and --dedup work with --engine local only")
    if engine == "ray" and opts.get("lines"):
        raise click.UsageError("--lines works with --engine local only")
    if engine == "ray" and record_limit(opts) != MAX_RECORD_BYTES:
        raise click.UsageError(f"--max-record-mb works with --engine local only (Ray reads "
                               f"with the default, {MAX_RECORD_BYTES / MB:g} MB)")
    if engine == "ray" and opts.get("report"):
        raise click.UsageError("--report works with --engine local only")
    if address and engine != "ray":
        raise click.UsageError("--address names a Ray cluster: it needs --engine ray")
    check_threshold(ctx, opts)
    if engine == "ray":
        run_on_ray(paths, opts, address)
        return
    execute(paths, ORDER, opts, only_jsonl=False)


def check_threshold(ctx: click.Context, opts: dict) -> None:
    """A --near-dup-threshold on the command line is meant to act: refused where dedup is off.
    One from the configuration file is a default, which --no-dedup or a run without --state
    leaves unused, as flags override the file."""
    source = ctx.get_parameter_source("near_dup_threshold")
    if source is not click.core.ParameterSource.COMMANDLINE:
        return
    if opts.get("dedup") is False:
        raise click.UsageError("--near-dup-threshold has no effect where dedup is off (--no-dedup)")
    if opts.get("dedup") is None and not opts.get("state"):
        raise click.UsageError("--near-dup-threshold has no effect without --state or --dedup")


def run_on_ray(paths, opts, address) -> None:
    """--engine ray: input files are shards; each gives an output shard and a rejects shard."""
    _setup_logging(opts.get("quiet"), opts.get("verbose"))
    output = opts.get("output")
    if output in (None, "-") or "-" in paths or not paths:
        raise click.UsageError("--engine ray reads named files and writes shards: "
                               "give input paths and -o DIR")
    rejects_dir = opts.get("rejects") or output.rstrip("/") + ".rejects"
    for directory in (output, rejects_dir):  # before anything is created, so a rerun can work
        if os.path.exists(directory):
            raise click.UsageError(f"{directory} exists: --engine ray writes its shards into new "
                                   f"directories; remove it or name another")
    try:
        from .engines import ray as ray_engine
    except ImportError:
        raise click.UsageError("--engine ray needs Ray: pip install 'zhclean[ray]'") from None
    ignored: Counter = Counter()
    with exit_statuses():
        files = check_inputs(paths, False, ignored, opts)
        check_outputs(opts, files, rejects_dir)
        settings = settings_from(opts)
        build_stages(ORDER, settings)  # a rule error shows here, before Ray starts
    started = time.monotonic()
    stats = ray_engine.run(files, ORDER, settings, fields_from(opts), output, rejects_dir,
                           address)
    stats.seconds = time.monotonic() - started
    stats.files_ignored = ignored
    stats.inputs_read = len(files)
    stats.bytes_in = sum(map(_size, files))
    if opts.get("stats_path"):
        with exit_statuses(), JsonlWriter(opts["stats_path"]) as f:  # as the local engine does
            f.write(stats.summary())
    if opts.get("verbose"):
        _print_summary(stats.summary())
    sys.exit(EXIT_BAD_INPUT if stats.input_errors else EXIT_OK)


@main.group("config")
def config_group():
    """The configuration file (--config FILE or $ZHCLEAN_CONFIG)."""


@config_group.command("show")
@click.argument("commands", nargs=-1)
@click.pass_context
def config_show(ctx, commands):
    """Print the options every command runs with when no flag is given, as TOML (the file's
    values over the built-in defaults); COMMANDS limits it to those commands."""
    root = ctx.find_root()
    tables = configfile.effective(main, root.default_map)
    unknown = [c for c in commands if c not in tables]
    if unknown:
        raise click.UsageError(f"no such command: {', '.join(unknown)}")
    click.echo(configfile.to_toml({c: tables[c] for c in commands or tables},
                                  root.meta.get("zhclean.config")), nl=False)
