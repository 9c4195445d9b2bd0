"""Command line: ``python -m benchmark {run,ceiling,list,train,report,track}``.

Errors in the user's request print one line (``error: ...``) and exit with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .errors import BenchmarkError

EPILOG_RUN = """examples:
  python -m benchmark run --grid brightness,noise
      the default job: embedded synth set, default grid, all shipped restorers, EasyOCR
  python -m benchmark run --grid-preset did --datasets iiit5k,svt,ic13_857 --data-root ../shared/data/str
      the DiD protocol (b in {0.5, 0.4} x sigma in {0.05..0.40}) on real STR test sets
  python -m benchmark run --grid noise --noise 0,0.1 --restorers identity --datasets iiit5k \\
      --data-root ../shared/data/str --limit 500 --out runs/x

Results land in --out: summary.csv (one row per dataset x cell x restorer x recognizer),
samples.parquet (one row per sample), config.json, report.html. Rerunning the same command
resumes: finished units are skipped.
"""


EPILOG_CEILING = """example:
  python -m benchmark ceiling --datasets iiit5k,svt,ic13_857 --data-root ../shared/data/str --limit 300 \\
      --restorers dtdm,irsde,ldm,did --out runs/ceiling

Writes ceiling.csv into --out: per dataset x restorer x recognizer, the word accuracy, 1-NED and
PSNR of the clean crops after the restorer's own path, the clean accuracy and the share kept.
`run` computes the same table for its restorers unless --no-ceiling is given.
"""


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _step_budgets(text: str) -> list[int]:
    try:
        return [int(part) for part in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a step count (or increasing counts such as 4000,8000)") from None


def default_restorers() -> list[str]:
    """Every built-in restorer whose checkpoint ships with the package (plugins are opt-in)."""
    from restorers.registry import default_names

    return default_names()


def _shared_run_options(parser: argparse.ArgumentParser):
    """Data, method and execution options of `run` and `ceiling`."""
    d = parser.add_argument_group("data")
    d.add_argument("--datasets", default="synth",
                   help="comma-separated: synth (embedded), iiit5k, svt, ic13_857, ic15, svtp, cute80, or folder paths")
    d.add_argument("--data-root", help="folder holding the named sets (default: $BENCHMARK_DATA_ROOT)")
    d.add_argument("--limit", type=int, help="first N usable samples per dataset (default: all; for the embedded "
                                              "synth set its first 16 of 1000, CPU-sized)")
    d.add_argument("--protocol", default="alnum36", choices=["alnum36", "case-sensitive", "printable94"],
                   help="label protocol applied to labels and predictions (default: alnum36)")
    m = parser.add_argument_group("methods")
    m.add_argument("--restorers", help="comma-separated restorer names (default: every shipped built-in; "
                                       "see `python -m benchmark list`)")
    m.add_argument("--checkpoint-preset", default=None,
                   help="checkpoint preset of learned restorers (default: the shipped one, compact)")
    m.add_argument("--checkpoints", metavar="DIR", default=os.environ.get("BENCHMARK_CHECKPOINTS"),
                   help="folder of your own checkpoints (<method>-<preset>.pt + .json, as `train` writes them), "
                        "used instead of the shipped ones where present (default: $BENCHMARK_CHECKPOINTS)")
    m.add_argument("--recognizers", default="easyocr,ppocrv6",
                   help="comma-separated readers (default: easyocr,ppocrv6; more: ppocrv5, ppocr, plugins; "
                        "see `list`)")
    o = parser.add_argument_group("execution")
    o.add_argument("--device", default="auto", help="auto (GPU if available), cpu, cuda or cuda:N")
    o.add_argument("--out", help="run folder (default: runs/<date>-<time>); rerun with the same --out to resume")
    o.add_argument("--seed", type=int, default=0, help="base seed of degradation noise and samplers (default 0)")
    o.add_argument("--batch-size", type=int, default=32, help="images per restorer batch (default 32)")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    o.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local (default): units one after another in this process; ray: units cut into parts "
                        "spread over a Ray cluster (extra [ray]); the results are the same")
    o.add_argument("--ray-address", help="Ray cluster to join (e.g. auto or HEAD:6379; default: start a local one)")
    return o


def build_parser() -> argparse.ArgumentParser:
    from degradations import PRESETS

    parser = argparse.ArgumentParser(prog="python -m benchmark",
                                     description="Can a machine still read the text after low-light restoration?")
    sub = parser.add_subparsers(dest="command", metavar="{run,ceiling,list,train,report,track}")

    run = sub.add_parser("run", help="degrade, restore, recognize and score; writes a run folder",
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG_RUN)
    g = run.add_argument_group("degradation grid")
    g.add_argument("--grid", default="brightness,noise",
                   help="axes to sweep: brightness,noise (Cartesian product), brightness (sigma=0) or noise (b=1)")
    g.add_argument("--grid-preset", dest="preset", default="default", choices=sorted(PRESETS),
                   help="grid values: " + "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()))
    g.add_argument("--preset", dest="old_preset", choices=sorted(PRESETS), help=argparse.SUPPRESS)  # deprecated
    g.add_argument("--brightness", help="comma-separated brightness values in (0, 1], overriding the grid preset")
    g.add_argument("--noise", help="comma-separated Gaussian noise stds >= 0 (images in [0, 1]), overriding the grid preset")
    g.add_argument("--model", default="did", choices=["did", "physical"],
                   help="degradation model (default: did, the DiD authors' HSV model)")
    o = _shared_run_options(run)
    o.add_argument("--no-kid", action="store_true", help="skip KID (Inception features cost ~0.2 s/image on CPU)")
    o.add_argument("--perceptual", default="stlpips", choices=["stlpips", "lpips"],
                   help="perceptual distance: stlpips (default; weights in its wheel) or lpips (classic LPIPS; its "
                        "AlexNet trunk must be in torchvision's weight cache, the run stops otherwise)")
    o.add_argument("--no-perceptual", action="store_true", help="skip the perceptual distance")
    o.add_argument("--no-ceiling", action="store_true",
                   help="skip the pass-through ceiling (clean crops through each restorer's own resampling)")
    o.add_argument("--no-report", action="store_true", help="do not write report.html at the end")

    ceiling = sub.add_parser(
        "ceiling", help="pass-through ceiling: clean crops through each restorer's own resampling / tiling / "
                        "encoding (no degradation, no restoration), read by the recognizers",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG_CEILING)
    _shared_run_options(ceiling)

    sub.add_parser("list", help="restorers, datasets, recognizers, metrics, presets")

    train = sub.add_parser("train", help="train a learned restorer and write its checkpoint")
    train.add_argument("restorer", help="restorer to train (see `list`), e.g. sci")
    train.add_argument("--preset", dest="old_preset", help=argparse.SUPPRESS)  # deprecated: --checkpoint-preset
    train.add_argument("--checkpoint-preset", dest="preset", default="compact",
                       help="checkpoint preset: compact (CPU-sized, shipped), gpu (wider networks capped at 16 MB, "
                            "for a GPU) or paper (the papers' sizes)")
    train.add_argument("--data-root", help="folder with iiit5k_train, svt_train, ic15_train (default: $BENCHMARK_DATA_ROOT)")
    train.add_argument("--steps", type=_step_budgets, metavar="N[,N2...]",
                       help="optimizer steps at most (default: the preset's budget); the run stops earlier once its "
                            "validation curve has flattened. Several increasing budgets (4000,8000) train as a run "
                            "resumed with each longer --steps in turn: the learning-rate schedule runs to 4000, then "
                            "continues on 8000 from step 4000 (how the DiD ablations repeat did's extended training)")
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument("--out", help="checkpoint folder (default: training/<restorer>-<preset>)")
    train.add_argument("--resume", action="store_true", help="continue from the last periodic checkpoint in --out; with another --steps, "
                       "extend the budget (the learning-rate schedule continues on the new budget)")
    train.add_argument("--seed", type=int, help="training seed (default: the preset's)")
    train.add_argument("--stage", help="for multi-stage methods (ldm): autoencoder or diffusion (default: all)")
    train.add_argument("--checkpoint-every", type=int,
                       help="steps between periodic checkpoints for --resume (default 250; fewer for short GPU chunks)")
    train.add_argument("--validate-every", type=int, help="steps between validations (default: the recipe's, 250)")
    train.add_argument("--no-validation", action="store_true", help="skip validation (no curves, no early stop)")
    train.add_argument("--no-early-stop", action="store_true",
                       help="train the full --steps even after the validation curve has flattened")
    train.add_argument("--install", action="store_true",
                       help="also copy the final checkpoint into the package (restorers/weights) to ship it")

    report = sub.add_parser("report", help="(re)write report.html and figures of a run folder",
                            description="Writes RUN_DIR/report.html (self-contained: tables, and figures with the run's saved "
                                        "example images embedded) and RUN_DIR/figures/*.png from the run's summary.csv, "
                                        "samples.parquet and saved examples, and prints the HTML path. Nothing is "
                                        "restored or recognized again.")
    report.add_argument("run_dir", help="a run folder written by `run` (it holds summary.csv)")
    report.add_argument("--history", help="score history CSV written by `track`, plotted in the report")
    report.add_argument("--markdown", action="store_true",
                        help="print the tables as Markdown instead of writing the report: the means over the degraded "
                             "cells, one table per dataset and reader, the cost, the readers' agreement and, when the "
                             "run has DiD variants, each one against `did` (paired over the cells, with standard "
                             "errors, PSNR and SSIM)")

    track = sub.add_parser("track", help="append a run's headline scores to a history; fail on regression")
    track.add_argument("run_dir", help="a run folder written by `run` (it holds summary.csv)")
    track.add_argument("--history", required=True, help="history file (CSV), created if missing")
    track.add_argument("--threshold", type=float, default=0.02,
                       help="a drop larger than this (absolute, e.g. 0.02 = 2 points) is a regression")
    return parser


def cmd_run(args) -> int:
    import degradations

    from . import runner

    axes = degradations.parse_axes(args.grid)
    # An option given empty (e.g. an unset shell variable) is an error, never a silent fall-back to the default.
    brightness = degradations.parse_values(args.brightness, "brightness") if args.brightness is not None else None
    noise = degradations.parse_values(args.noise, "noise") if args.noise is not None else None
    cells = degradations.build_grid(axes, brightness, noise, args.preset)
    if args.limit is not None and args.limit <= 0:
        raise BenchmarkError(f"--limit must be positive, got {args.limit}")
    config = runner.RunConfig(
        out=args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S")),
        datasets=_csv(args.datasets), data_root=args.data_root, cells=cells,
        restorers=_csv(args.restorers) if args.restorers is not None else default_restorers(),
        recognizers=_csv(args.recognizers), limit=args.limit, seed=args.seed, model=args.model,
        protocol=args.protocol, device=args.device, batch_size=args.batch_size, kid=not args.no_kid,
        perceptual=not args.no_perceptual, perceptual_metric=args.perceptual, checkpoint_preset=args.checkpoint_preset,
        checkpoint_dir=args.checkpoints, ceiling=not args.no_ceiling, executor=args.executor,
        ray_address=args.ray_address, grid_description=f"{args.grid} preset={args.preset}",
    )
    args.out = config.out  # so an interrupt can say where to resume
    t0 = time.perf_counter()
    summary = runner.Runner(config, progress=not args.quiet).run()
    print(runner.format_summary(summary))
    out = os.path.abspath(config.out)
    if not args.no_report:
        from reports import write_report

        path = write_report(out)
        print(f"\nreport: {path}")
    print(f"results: {os.path.join(out, 'summary.csv')} (per cell), {os.path.join(out, 'samples.parquet')} "
          f"(per sample), {os.path.join(out, 'config.json')}")
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    return 0


def cmd_ceiling(args) -> int:
    from . import runner

    if args.limit is not None and args.limit <= 0:
        raise BenchmarkError(f"--limit must be positive, got {args.limit}")
    config = runner.RunConfig(
        out=args.out or os.path.join("runs", "ceiling-" + time.strftime("%Y%m%d-%H%M%S")),
        datasets=_csv(args.datasets), data_root=args.data_root, cells=[],
        restorers=_csv(args.restorers) if args.restorers is not None else default_restorers(),
        recognizers=_csv(args.recognizers), limit=args.limit, seed=args.seed, protocol=args.protocol,
        device=args.device, batch_size=args.batch_size, kid=False, perceptual=False,
        checkpoint_preset=args.checkpoint_preset, checkpoint_dir=args.checkpoints, ceiling=True,
        executor=args.executor, ray_address=args.ray_address)
    args.out = config.out
    table = runner.Runner(config, progress=not args.quiet).run(cells=False)
    print(runner.format_ceiling(table))
    print(f"\nresults: {os.path.join(os.path.abspath(config.out), 'ceiling.csv')}")
    return 0


def cmd_list(args) -> int:
    from degradations import PRESETS
    from reports.facts import METRICS, range_text
    from restorers import available

    from . import datasets, recognizers

    print("restorers (--restorers):")
    defaults = set(default_restorers())
    for name, entry in available().items():
        mark = "*" if name in defaults else " "
        missing = "" if entry.ready() else " (checkpoint not shipped yet: python -m benchmark train ...)"
        print(f"  {mark} {name:<18} {entry.family:<10} {entry.description} [{entry.origin}]{missing}")
    print("  (* = in the default run)")
    print("\ndatasets (--datasets; named sets live under --data-root):")
    for name, text in {**datasets.EMBEDDED, **datasets.NAMED_SETS}.items():
        print(f"    {name:<18} {text}")
    print("\nrecognizers (--recognizers):")
    for name, entry in recognizers.available().items():
        print(f"    {name:<18} {entry.description} [{entry.origin}; weights: {entry.weights}]")
    print("\nmetrics:")
    for name, info in METRICS.items():
        better = "higher" if info.higher_is_better else "lower"
        print(f"    {info.name:<18} {range_text(name):<26} {better} is better; {info.description}")
    print("\ngrid presets (--grid-preset):")
    for name, preset in PRESETS.items():
        print(f"    {name:<18} {preset.description}")
    print("\nlabel protocols (--protocol):")
    for name, text in datasets.PROTOCOLS.items():
        print(f"    {name:<18} {text}")
    return 0


def cmd_train(args) -> int:
    from .training import train_command

    return train_command(args)


def cmd_report(args) -> int:
    from reports import write_report
    from reports.markdown import markdown_report

    run_dir = os.path.abspath(args.run_dir)
    if not os.path.exists(os.path.join(run_dir, "summary.csv")):
        raise BenchmarkError(f"{args.run_dir} is not a finished run folder (no summary.csv)")
    print(markdown_report(run_dir) if args.markdown else write_report(run_dir, history=args.history))
    return 0


def cmd_track(args) -> int:
    from .tracking import track_command

    return track_command(args)


COMMANDS = {"run": cmd_run, "ceiling": cmd_ceiling, "list": cmd_list, "train": cmd_train, "report": cmd_report, "track": cmd_track}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if getattr(args, "old_preset", None):  # one word, two meanings: the flags now say which preset
        new = "--checkpoint-preset" if args.command == "train" else "--grid-preset"
        print(f"warning: --preset is deprecated here; use {new} {args.old_preset}", file=sys.stderr)
        args.preset = args.old_preset
    import warnings

    for category in (UserWarning, FutureWarning, DeprecationWarning):  # dependencies' chatter
        warnings.filterwarnings("ignore", category=category)
    from degradations import DegradationError
    from restorers import RestorerError, RestorerWarning

    show_warning = warnings.showwarning

    def show(message, category, *rest, **kw):  # the suite's own caveats: one plain line each
        if issubclass(category, RestorerWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            show_warning(message, category, *rest, **kw)

    if not getattr(show_warning, "plain_restorer_warnings", False):  # main() called again: keep one hook
        show.plain_restorer_warnings = True
        warnings.showwarning = show
    warnings.simplefilter("default", RestorerWarning)

    try:
        return COMMANDS[args.command](args)
    except (BenchmarkError, DegradationError, RestorerError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `python -m benchmark list | head`
        return 0
    except KeyboardInterrupt as e:
        out = getattr(args, "out", None)
        if args.command == "train":
            print(f"\ninterrupted; the last periodic checkpoint is in {out or 'training/<method>-<preset>'}: "
                  f"continue with the same command plus --resume", file=sys.stderr)
            return 130
        stopped = f"{e.args[0]}" if e.args else "finished units are saved"
        where = f" in {out}" if out else ""
        print(f"\ninterrupted: {stopped}{where}. Rerun the same command to resume.", file=sys.stderr)
        return 130
