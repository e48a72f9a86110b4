"""The `zhclean` command line: parses options into Settings and hands them to the runner.
No cleaning logic lives here."""
from __future__ import annotations

import logging
import os
import sys
from functools import wraps

import click

from pipeline import __version__
from pipeline.readers import FieldMap, InputError, expand_paths, read_inputs
from pipeline.rules import RuleError
from pipeline.runner import Stats, run_stream
from pipeline.stages import ORDER, Settings, build_stages
from pipeline.stages.convert import CONFIGS, ConvertOptions
from pipeline.stages.despam import DespamOptions
from pipeline.stages.segment import ENGINES, FORMATS, MODES, SegmentOptions
from pipeline.writers import JsonlWriter, NullWriter, OutputClosed

# Exit statuses (documented in the README).
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # the run finished, but some input could not be read (see stderr, rejects)
EXIT_USAGE = 2  # bad options or a missing input path (Click uses 2 as well)
EXIT_RULES = 3  # a rule file is broken

log = logging.getLogger("zhclean")


def _compose(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


output_options = _compose(
    click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
                 help="Write records here (atomically) instead of stdout."),
    click.option("--rejects", type=click.Path(dir_okay=False),
                 help="Write every dropped line and record here, with its reason. "
                      "Default with -o OUT: OUT's name with .rejects.jsonl."),
    click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
    click.option("-v", "--verbose", is_flag=True, help="Print a summary on stderr."),
)
read_options = _compose(
    click.option("--text-field", default="text", show_default=True,
                 help="JSONL input: the field holding the article text."),
    click.option("--title-field", default="title", show_default=True,
                 help="JSONL input: the field holding the title."),
    click.option("--id-field", default="id", show_default=True,
                 help="JSONL input: the field holding the id."),
)
rules_option = click.option(
    "--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False, exists=True),
    help="A directory of rule files that add to or override the shipped rules/ (repeatable).")
convert_options = _compose(
    click.option("--config", "convert_config", type=click.Choice(CONFIGS), default="auto",
                 show_default=True, help="OpenCC configuration; auto picks one per record."),
    click.option("--keep-quotes", is_flag=True, help="Keep corner quotes 「」『』 as they are."),
)
segment_options = _compose(
    click.option("--engine", "segment_engine", type=click.Choice(ENGINES), default="jieba-rs",
                 show_default=True, help="jieba-rs (fast) or jieba (the reference Python package)."),
    click.option("--mode", type=click.Choice(MODES), default="accurate", show_default=True),
    click.option("--hmm/--no-hmm", default=True, show_default=True,
                 help="Find words missing from the dictionary with jieba's HMM."),
    click.option("--userdict", "userdicts", multiple=True, type=click.Path(exists=True,
                 dir_okay=False), help="A user dictionary in jieba's format (repeatable)."),
    click.option("--remove-stopwords", is_flag=True, help="Drop stopwords from tokens."),
    click.option("--stopwords", type=click.Path(exists=True, dir_okay=False),
                 help="A stopword list replacing rules/stopwords.txt (implies removal)."),
    click.option("--pos", is_flag=True, help="Add part-of-speech tags (pos field)."),
    click.option("--format", "token_format", type=click.Choice(FORMATS), default="list",
                 show_default=True, help="tokens as a JSON list, or one space-joined string."),
    click.option("--keep-script", is_flag=True,
                 help="Tokens in the original (Traditional) characters, boundaries from the "
                      "converted text."),
)


def settings_from(opts: dict) -> Settings:
    return Settings(
        rules_dirs=tuple(opts.get("rules_dirs") or ()),
        convert=ConvertOptions(config=opts.get("convert_config", "auto"),
                               keep_quotes=opts.get("keep_quotes", False)),
        despam=DespamOptions(),
        segment=SegmentOptions(
            engine=opts.get("segment_engine", "jieba-rs"), mode=opts.get("mode", "accurate"),
            hmm=opts.get("hmm", True), userdicts=tuple(opts.get("userdicts") or ()),
            remove_stopwords=bool(opts.get("remove_stopwords") or opts.get("stopwords")),
            stopwords=opts.get("stopwords"), pos=opts.get("pos", False),
            format=opts.get("token_format", "list"), keep_script=opts.get("keep_script", False)),
    )


def default_rejects_path(output: str | None) -> str | None:
    if output in (None, "-"):
        return None
    stem = output[:-6] if output.endswith(".jsonl") else output
    return stem + ".rejects.jsonl"


def execute(paths, stage_names, opts, *, only_jsonl: bool) -> None:
    """Read inputs, run the stages, write output and rejects; exit with a documented status."""
    _setup_logging(opts.get("quiet"), opts.get("verbose"))
    try:
        list(expand_paths(paths))  # every input must exist before anything is written
        stages = list(zip(stage_names, build_stages(stage_names, settings_from(opts))))
    except InputError as e:
        raise click.UsageError(str(e)) from None
    except RuleError as e:
        click.echo(f"zhclean: rule error: {e}", err=True)
        sys.exit(EXIT_RULES)
    fields = FieldMap(text=opts.get("text_field", "text"), title=opts.get("title_field", "title"),
                      id=opts.get("id_field", "id"))
    rejects_path = opts.get("rejects") or default_rejects_path(opts.get("output"))
    stats = Stats()
    try:
        with JsonlWriter(opts.get("output")) as out, \
                (JsonlWriter(rejects_path) if rejects_path else NullWriter()) as rejects:
            run_stream(read_inputs(paths, fields, only_jsonl=only_jsonl), stages, out, rejects,
                       stats)
    except OutputClosed:
        _silence_stdout()
        sys.exit(EXIT_OK)
    except RuleError as e:
        click.echo(f"zhclean: rule error: {e}", err=True)
        sys.exit(EXIT_RULES)
    if opts.get("verbose"):
        s = stats.as_dict()
        click.echo(f"zhclean: {s['records_in']} records in, {s['records_out']} out, "
                   f"{s['input_errors']} input errors, rejects {s['rejects']}", err=True)
    sys.exit(EXIT_BAD_INPUT if stats.input_errors else EXIT_OK)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("zhclean: %(message)s"))
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
    @click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
    @extra_options
    @rules_option
    @output_options
    @wraps(lambda **opts: None)
    def command(paths, **opts):
        execute(paths, (name,), opts, only_jsonl=True)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zhclean")
def main():
    """Clean dirty Chinese news pages into Simplified, segmented JSONL.

    Every command reads files, directories or - (stdin) and writes JSONL to stdout or -o FILE;
    dropped lines and records go to --rejects FILE with their reason."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@read_options
@output_options
def read(paths, **opts):
    """Turn raw inputs (.jsonl, .txt, .html, compressed too) into records."""
    execute(paths, (), opts, only_jsonl=False)


_stage_command("convert", convert_options,
               "Normalise and convert Traditional text to Simplified (Simplified is left alone).")
_stage_command("despam", _compose(), "Drop SEO spam, HTML residue, page chrome and blank lines.")
_stage_command("segment", segment_options, "Segment text into words (tokens).")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@read_options
@convert_options
@segment_options
@rules_option
@output_options
def run(paths, **opts):
    """Read and run every stage in one process: equal to
    `zhclean read ... | zhclean convert | zhclean despam | zhclean segment`."""
    execute(paths, ORDER, opts, only_jsonl=False)
