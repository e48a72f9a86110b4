"""`zhclean run --engine ray`: the same record functions on Ray Data, beyond one machine.

Every input file is a shard. Ray Data reads each shard whole (read_binary_files: one row per file,
.gz/.bz2/.zst opened by Arrow, .xz here) and hands it to a pool of CleanShards actors, which build the stages
once and then parse, clean and serialise exactly as the local engine does. Each shard gives two
files, written atomically, named after its position among the inputs so that `cat DIR/*.jsonl`
is the local engine's output:

    OUT_DIR/00000-name.jsonl            the records
    REJECTS_DIR/00000-name.rejects.jsonl  what was dropped, with reasons

Paths must be visible to every node of the cluster (a shared file system). Memory per actor
follows the largest shard: split very large inputs into shards of a few hundred MB.
"""
from __future__ import annotations

import io
import json
import logging
import lzma
import os

import ray
import ray.data

from pipeline.readers import COMPRESSIONS, FieldMap, Unparsed, format_of
from pipeline.records import Reject
from pipeline.runner import Stats, report, run_stream
from pipeline.stages import Settings, build_stages
from pipeline.writers import JsonlWriter


def run(paths: list[str], stage_names: tuple[str, ...], settings: Settings, fields: FieldMap,
        output_dir: str, rejects_dir: str, address: str | None) -> Stats:
    """Clean the input files on Ray; returns the merged counts."""
    started_here = not ray.is_initialized()
    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False,
             logging_level=logging.WARNING, log_to_driver=False)
    try:
        return _run(paths, stage_names, settings, fields, output_dir, rejects_dir)
    finally:
        if started_here:
            ray.shutdown()


def _run(paths, stage_names, settings, fields, output_dir, rejects_dir) -> Stats:
    os.makedirs(output_dir)  # new directories: shards of an earlier run never mix in
    os.makedirs(rejects_dir)
    # Ray reports files by absolute path; records keep the path as the user gave it.
    shards = {os.path.abspath(p): (p, shard_name(i, p)) for i, p in enumerate(paths)}
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-run execution plans
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    actors = ray.data.ActorPoolStrategy(min_size=1, max_size=cpus)
    dataset = ray.data.read_binary_files(list(shards), include_paths=True).map_batches(
        CleanShards, batch_size=1, compute=actors,
        fn_constructor_args=(stage_names, settings, fields, shards,
                             os.path.abspath(output_dir), os.path.abspath(rejects_dir)))
    stats = Stats()
    for row in dataset.iter_rows():
        shard = Stats(row["records_in"], row["records_out"], row["input_errors"])
        shard.rejects.update({(s, r): n for s, r, n in json.loads(row["rejects"])})
        stats.merge(shard)
        for reject in json.loads(row["errors"]):
            report(Reject(reject))
    return stats


def shard_name(position: int, path: str) -> str:
    base = os.path.basename(path)
    for suffix in COMPRESSIONS:
        base = base.removesuffix(suffix)
    return f"{position:05d}-{os.path.splitext(base)[0]}"


class CleanShards:
    """A Ray Data actor: stages built once; each row is one whole input file."""

    def __init__(self, stage_names, settings: Settings, fields: FieldMap, shards: dict,
                 output_dir: str, rejects_dir: str):
        self.stages = list(zip(stage_names, build_stages(stage_names, settings)))
        self.fields = fields
        self.shards = shards
        self.output_dir = output_dir
        self.rejects_dir = rejects_dir

    def __call__(self, batch: dict) -> dict:
        rows: dict = {"records_in": [], "records_out": [], "input_errors": [], "rejects": [],
                      "errors": []}
        for data, path in zip(batch["bytes"], batch["path"]):
            stats, errors = self.clean(bytes(data), path)
            rows["records_in"].append(stats.records_in)
            rows["records_out"].append(stats.records_out)
            rows["input_errors"].append(stats.input_errors)
            rows["rejects"].append(json.dumps([[s, r, n] for (s, r), n in stats.rejects.items()]))
            rows["errors"].append(json.dumps(errors, ensure_ascii=False))
        return rows

    def clean(self, data: bytes, path: str) -> tuple[Stats, list[Reject]]:
        source, name = self.shards[os.path.abspath(path)]
        if source.lower().endswith(".xz"):  # the one compression Arrow does not open itself
            data = lzma.decompress(data)
        lines = tuple(io.BytesIO(data))  # split as a file is read: at b"\n" only
        fmt = format_of(source) or "jsonl"
        unparsed = Unparsed(source, fmt, lines if fmt == "jsonl" else (data,), len(data),
                            self.fields)
        stats, errors = Stats(), []
        with JsonlWriter(os.path.join(self.output_dir, name + ".jsonl")) as out, \
                JsonlWriter(os.path.join(self.rejects_dir, name + ".rejects.jsonl")) as rejects:
            run_stream(unparsed.parse(), self.stages, out, rejects, stats, errors.append)
        return stats, errors
