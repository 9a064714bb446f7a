"""Command-line options and the report head the benchmarks share."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import sklearn
import torch

import skgru


def parser(
    doc: str, subset: str, choices: list[str], methods: list[str], output: Path
) -> argparse.ArgumentParser:
    """The options: ``--<subset>`` (which data), seeds, methods, skgru's
    extra parameters, the report's path and an optional JSON dump."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{subset}", nargs="+", choices=choices, default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=methods, default=None)
    parser.add_argument(
        "--skgru-params", default="{}", help="JSON dict of extra skgru parameters"
    )
    parser.add_argument("--output", default=str(output))
    parser.add_argument("--json", default=None, help="also dump per-seed results")
    return parser


def skgru_params(args: argparse.Namespace) -> dict:
    """``--skgru-params`` as a dict; exits with a message if it is not one."""
    extra = json.loads(args.skgru_params)
    if not isinstance(extra, dict):
        sys.exit("--skgru-params must be a JSON object")
    return extra


def run_header(title: str, script: str, packages: tuple[str, ...]) -> list[str]:
    """Markdown lines: the title, the command that ran ``script``, the date,
    the machine and the versions of skgru, torch, scikit-learn and
    ``packages``."""
    command = shlex.join(["python", f"benchmarks/{script}", *sys.argv[1:]])
    versions = {"skgru": skgru.__version__, "torch": torch.__version__}
    versions["scikit-learn"] = sklearn.__version__
    for package in packages:
        versions[package] = importlib.metadata.version(package)
    return [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}. "
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads. "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
    ]
