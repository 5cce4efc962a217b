"""The ``segycore`` command: import, export, info and demo.

Exit codes: 0 done, 1 failed (one ``error: ...`` line on stderr, no traceback),
2 usage, 130 cancelled with Ctrl-C (nothing left behind).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import user_message
from .pipeline.stages import Stage, format_eta

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class CommandError(Exception):
    """A failure reported as one ``error:`` line."""


# -- progress rendering -----------------------------------------------------------------
class ProgressView:
    """One rich progress bar per stage, in the stage's unit; silent when not a terminal."""

    def __init__(self, stages: Sequence[Stage], enabled: bool) -> None:
        self.stages = stages
        self.enabled = enabled
        self._tasks: dict[int, Any] = {}
        self._progress = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]:<8} {task.fields[extra]}"),
                TimeElapsedColumn(),
                transient=False,
            )
            self._progress.start()

    def update(self, snap: Any) -> None:
        if self._progress is None:
            return
        for i, stage in enumerate(snap.stages):
            if i > snap.stage_index and not stage.started:
                continue
            if not stage.started and i != snap.stage_index:
                continue
            spec = self.stages[i]
            scale = 1_000_000 if spec.unit == "bytes" else 1
            unit = "MB" if spec.unit == "bytes" else spec.unit
            extra = ""
            if spec.cancellable and spec.unit == "traces" and i == snap.stage_index:
                extra = f"{snap.active_workers} workers, ETA {format_eta(snap.eta_seconds)}"
            total = max(stage.total // scale, 1)
            done = min(stage.done // scale, total) if not stage.finished else total
            if i not in self._tasks:
                self._tasks[i] = self._progress.add_task(
                    spec.label, total=total, unit=unit, extra=extra
                )
            self._progress.update(self._tasks[i], completed=done, total=total, extra=extra)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _run_job(job: Any, quiet: bool) -> dict[str, Any]:
    """Poll a job to its end, rendering progress; Ctrl-C cancels it."""
    view = ProgressView(job.stages, enabled=not quiet and sys.stderr.isatty())
    try:
        try:
            while True:
                snap = job.snapshot()
                view.update(snap)
                if snap.state in ("done", "failed", "cancelled"):
                    break
                job.wait(timeout=0.05)  # wakes at once when the supervisor exits
        except KeyboardInterrupt:
            job.cancel()
            snap = job.wait(30)
            view.update(snap)
            if snap.state == "done":
                return snap.result or {}
            raise
    finally:
        view.close()
        job.close()  # reaps the supervisor: nothing of the job outlives the command
    if snap.state == "cancelled":
        raise KeyboardInterrupt
    if snap.state == "failed":
        raise CommandError((snap.error or "the job failed").splitlines()[0])
    return snap.result or {}


def _print_summary(result: dict[str, Any]) -> None:
    where = result.get("dataset") or result.get("destination")
    print(
        f"{result['kind']}: {result['n_traces']:,} traces x {result['n_samples']:,} samples, "
        f"format {result['sample_format']} -> {where}"
    )
    total = 0.0
    for stage, seconds in result.get("stage_seconds", {}).items():
        total += seconds
        print(f"  {stage:<14} {seconds:8.3f} s")
    print(f"  {'total':<14} {total:8.3f} s")


# -- commands -------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from .pipeline.configs import ImportConfig
    from .runtime.jobs import start_import

    config = ImportConfig(
        source=Path(args.source),
        destination=Path(args.destination),
        workers=args.workers or (os.cpu_count() or 1),
        ensemble_keys=tuple(args.ensemble_key or ("field_record",)),
        endian=args.endian,
        overwrite=args.overwrite,
        rate_limit=args.rate_limit,
        header_fields=tuple(args.header_field or ()),
        geometry_keys=_geometry_keys(args),
        salvage=args.salvage,
        format_code=args.format,
        samples=args.samples,
        textual_encoding=args.textual_encoding,
        scheduler=args.scheduler,
    )
    result = _run_job(start_import(config), args.quiet)
    for warning in result.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        _print_summary(result)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .pipeline.configs import ExportConfig
    from .runtime.jobs import start_export

    textual = Path(args.textual_header).read_text() if args.textual_header else None
    config = ExportConfig(
        dataset=Path(args.dataset),
        destination=Path(args.destination),
        workers=args.workers or (os.cpu_count() or 1),
        format_code=args.format,
        endian=args.endian,
        textual_header=textual,
        overwrite=args.overwrite,
        segments=args.segments,
        merge_method=args.merge_method,
        rate_limit=args.rate_limit,
        sort=args.sort or (),
        select=tuple(args.select or ()),
        scheduler=args.scheduler,
    )
    result = _run_job(start_export(config), args.quiet)
    if not args.quiet:
        _print_summary(result)
    return EXIT_OK


def _field(text: str) -> str | int:
    """A field given on the command line: a byte position (``189``) or a name."""
    return int(text) if text.strip().isdigit() else text


def _geometry_keys(args: argparse.Namespace) -> tuple[str | int, ...] | None:
    """The (inline, crossline, offset) fields of ``--inline-byte`` & co. (None: no geometry)."""
    if args.no_geometry:
        return None
    return (_field(args.inline_byte), _field(args.crossline_byte), _field(args.offset_byte))


def _add_geometry_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--inline-byte",
        default="189",
        metavar="N",
        help="byte (or field name) of the inline number, as segyio's iline= (default: 189)",
    )
    p.add_argument(
        "--crossline-byte",
        default="193",
        metavar="N",
        help="byte (or field name) of the crossline number, as segyio's xline= (default: 193)",
    )
    p.add_argument(
        "--offset-byte",
        default="37",
        metavar="N",
        help="byte (or field name) of the offset of pre-stack data (default: 37)",
    )
    p.add_argument("--no-geometry", action="store_true", help="do not detect a survey grid")


def cmd_index(args: argparse.Namespace) -> int:
    from .pipeline.configs import IndexConfig
    from .runtime.jobs import start_index

    config = IndexConfig(
        dataset=Path(args.dataset),
        ensemble_keys=tuple(_field(k) for k in args.ensemble_key or ()),
        geometry_keys=_geometry_keys(args),
    )
    result = _run_job(start_index(config), args.quiet)
    if not args.quiet:
        keys = ", ".join(result.get("keys", [])) or "none"
        geometry = result.get("geometry") or {}
        grid = (
            f"{geometry['n_inlines']} x {geometry['n_crosslines']} x {geometry['n_offsets']}, "
            f"{geometry['filled_bins']:,} bins filled"
            if geometry.get("grid")
            else geometry.get("reason", "left as it was")
        )
        print(f"indexed {result['dataset']}: keys {keys}; geometry: {grid}")
        _print_summary(result)
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .dataset.info import describe, render

    info = describe(
        Path(args.path),
        endian=args.endian,
        format=args.format,
        samples=args.samples,
        textual_encoding=args.textual_encoding,
        salvage=args.salvage,
    )
    print(json.dumps(info, indent=2) if args.json else render(info))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .format.synthetic import write_survey
    from .pipeline.configs import ExportConfig, ImportConfig
    from .runtime.jobs import start_export, start_import

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="segycore-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "survey.sgy"
    dataset = folder / "survey.dataset"
    roundtrip = folder / "roundtrip.sgy"
    for path in (source, dataset, roundtrip):
        if path.exists():
            raise CommandError(f"{path} already exists: give --dir an empty folder")
    write_survey(
        source,
        n_shots=args.shots,
        traces_per_shot=args.channels,
        n_samples=args.samples,
        format_code=1,
    )
    print(
        f"synthesised {source} ({source.stat().st_size / 1e6:.1f} MB, {args.shots} IBM-float "
        f"shot gathers of {args.channels} traces x {args.samples} samples)"
    )
    workers = args.workers or (os.cpu_count() or 1)
    imported = _run_job(start_import(ImportConfig(source, dataset, workers=workers)), False)
    _print_summary(imported)
    exported = _run_job(start_export(ExportConfig(dataset, roundtrip, workers=workers)), False)
    _print_summary(exported)
    same = _same_bytes(source, roundtrip)
    print(f"round trip {'identical byte for byte' if same else 'DIFFERS'}: {roundtrip}")
    print(f"dataset: {dataset}  (open with segycore.open_dataset)")
    return EXIT_OK if same else EXIT_FAILED


def _same_bytes(a: Path, b: Path, block: int = 1 << 22) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


# -- parser ---------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """Overrides and salvage of how a SEG-Y file is read (import and info)."""
    p.add_argument(
        "--format", type=int, metavar="CODE", help="read the samples as this format code"
    )
    p.add_argument("--samples", type=_positive_int, metavar="N", help="read N samples per trace")
    p.add_argument(
        "--textual-encoding",
        choices=("ebcdic", "ascii"),
        help="read the textual headers in this encoding",
    )
    p.add_argument(
        "--salvage",
        action="store_true",
        help="import every complete trace of a damaged file (truncated, trailing bytes)",
    )


def _add_scheduler(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the parallel stage on the dask.distributed cluster of this scheduler "
        "(tcp://host:port; needs the dask extra and a filesystem shared at the same path)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segycore", description="Parallel, byte-exact SEG-Y import and export."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a SEG-Y file into a dataset folder")
    p.add_argument("source", help="SEG-Y file to read (never modified)")
    p.add_argument("destination", help="dataset folder to create")
    p.add_argument("--workers", type=_positive_int, help="worker threads (default: CPU count)")
    p.add_argument(
        "--ensemble-key",
        action="append",
        metavar="KEY",
        help="header field to index ensembles on, by name (field_record, "
        "FieldRecord) or byte (9); repeatable (default: field_record)",
    )
    p.add_argument("--endian", choices=("big", "little"), help="override byte-order detection")
    _add_reading_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    p.add_argument("--rate-limit", type=float, metavar="MB/S", help="cap the job's I/O rate")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.add_argument(
        "--header-field",
        action="append",
        metavar="NAME:BYTE:TYPE",
        help="decode a custom trace-header field as an extra column, e.g. iline:17:int32 "
        "(TYPE: int8, int16, int32, int64, uint8, uint16, uint32, float32, ibm32); repeatable",
    )
    _add_geometry_options(p)
    _add_scheduler(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "index", help="add or rebuild ensemble indexes and the survey geometry of a dataset"
    )
    p.add_argument("dataset", help="dataset folder (updated in place, atomically)")
    p.add_argument(
        "--ensemble-key",
        action="append",
        metavar="KEY",
        help="header field to index (name, byte or custom field); repeatable",
    )
    _add_geometry_options(p)
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("export", help="export a dataset folder to a SEG-Y file")
    p.add_argument("dataset", help="dataset folder to read")
    p.add_argument("destination", help="SEG-Y file to create")
    p.add_argument("--workers", type=_positive_int, help="worker threads (default: CPU count)")
    p.add_argument(
        "--format",
        type=int,
        metavar="CODE",
        help="output sample format code (default: the source's)",
    )
    p.add_argument(
        "--endian", choices=("big", "little"), help="output byte order (default: the source's)"
    )
    p.add_argument(
        "--textual-header",
        metavar="FILE",
        help="text file replacing the textual header (40 lines of 80 characters)",
    )
    p.add_argument(
        "--segments",
        action="store_true",
        help="write per-worker segment files and merge them (default: workers write "
        "straight into the output file)",
    )
    p.add_argument(
        "--merge-method",
        default="auto",
        help="segment merge method: auto, mmap, copy_file_range, sendfile, readinto",
    )
    p.add_argument(
        "--sort",
        metavar="KEY[,KEY...]",
        help="write the traces stably sorted by these header fields, e.g. CDP,offset",
    )
    p.add_argument(
        "--select",
        action="append",
        metavar="KEY=LO:HI",
        help="write only traces with LO <= KEY <= HI; repeatable (all must hold)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    p.add_argument("--rate-limit", type=float, metavar="MB/S", help="cap the job's I/O rate")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    _add_scheduler(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="describe a SEG-Y file or a dataset")
    p.add_argument("path")
    p.add_argument("--endian", choices=("big", "little"), help="override byte-order detection")
    _add_reading_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="synthesise a survey, import it, export it, verify")
    p.add_argument("--dir", help="folder for the demo files (default: a new temporary folder)")
    p.add_argument("--shots", type=_positive_int, default=16)
    p.add_argument("--channels", type=_positive_int, default=240)
    p.add_argument("--samples", type=_positive_int, default=1000)
    p.add_argument("--workers", type=_positive_int, help="worker threads (default: CPU count)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (also used as the console script)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("cancelled: nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # one line, no traceback; "internal error" only for our bugs
        message = str(exc) if isinstance(exc, CommandError) else user_message(exc)
        print(
            f"error: {message.splitlines()[0] if message else type(exc).__name__}", file=sys.stderr
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
