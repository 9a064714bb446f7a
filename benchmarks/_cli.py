"""Command-line options the accuracy and anomaly benchmarks share."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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
