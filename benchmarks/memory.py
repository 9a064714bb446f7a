"""Peak memory of skgru's data path on a long series.

5,000,000 rows x 4 float32 features (80 MB) in series layout with
``window_size=128``: ``fit`` for one epoch and ``predict`` with a tiny model
(``hidden_size=4``, large batches), so that it measures the data path, not the
GRU. A copy of every window would need 5e6 * 128 * 4 * 4 bytes = 10 GB.

Peak RSS is read from ``/proc/self/status`` (``VmHWM``) after each phase and
reported against two baselines: the RSS right after ``import skgru`` (the
bound's definition), and the RSS after a warm-up fit and predict on 1,000 rows.
The warm-up takes out what torch loads and allocates once per process, whatever
the data size: the first GRU steps allocate kernel buffers. (skgru's own Adam
keeps torch's compiler stack, which any ``torch.optim`` optimizer imports, out
of this: about 70 MB.) Run by
``benchmarks/run.py``, or alone: ``python benchmarks/memory.py``.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


ROWS, FEATURES, WINDOW = 5_000_000, 4, 128
# the plain GRU (last state, no dropout), as the recorded results were measured
PARAMS = dict(
    window_size=WINDOW,
    hidden_size=4,
    batch_size=2048,
    max_iter=1,
    pooling="last",
    patch_size=1,
    dropout=0.0,
)


def phase(name: str, model_path: str) -> None:
    """Run one phase in this process and print its table row."""
    import skgru  # noqa: F401  (the first baseline is taken right after this)

    after_import = status_mb("VmRSS")
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from skgru import GRURegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    warm = np.random.default_rng(1).standard_normal((1000, FEATURES), dtype=np.float32)
    GRURegressor(**PARAMS).fit(warm, warm[:, 0]).predict(warm)
    warmed = status_mb("VmRSS")

    X = np.random.default_rng(0).standard_normal((ROWS, FEATURES), dtype=np.float32)
    y = X[:, 0].copy()
    input_mb = X.nbytes / 2**20
    if name == "predict":
        with open(model_path, "rb") as f:
            est = pickle.load(f)
    reset_peak()
    start = time.perf_counter()
    if name == "fit":
        est = GRURegressor(random_state=0, **PARAMS).fit(X, y)
    else:
        est.predict(X)
    seconds = time.perf_counter() - start
    peak = status_mb("VmHWM")
    if name == "fit":
        with open(model_path, "wb") as f:
            pickle.dump(est, f)
    print(
        f"| `{name}` | {warmed - after_import:,.0f} MB | {peak - after_import:,.0f} MB"
        f" | {(peak - after_import) / input_mb:.2f} | {peak - warmed:,.0f} MB"
        f" | {(peak - warmed) / input_mb:.2f} | {seconds:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="skgru data-path memory benchmark")
    parser.add_argument("--phase", choices=["fit", "predict"])
    parser.add_argument("--model", help="pickle written by fit, read by predict")
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, args.model)
        return
    input_mb = ROWS * FEATURES * 4 / 2**20
    lines = [
        "| phase | one-time torch warm-up | peak RSS above `import skgru` | x input"
        " | peak RSS above warm-up | x input | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "model.pkl")
        for name in ("fit", "predict"):
            result = subprocess.run(
                [sys.executable, __file__, "--phase", name, "--model", model],
                capture_output=True,
                text=True,
                check=True,
            )
            lines.append(result.stdout.strip())
    lines += [
        "",
        f"Each phase runs in a fresh process. The input ({input_mb:,.0f} MB of "
        f"float32, plus its 1-D float32 target) is counted in the peaks; the bound "
        f"is 4x the input ({4 * input_mb:,.0f} MB). The warm-up is a fit and "
        f"predict on 1,000 rows: what torch loads and allocates once per process "
        f"whatever the data size. A copy of every window would need "
        f"{ROWS * WINDOW * FEATURES * 4 / 2**30:.1f} GB.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
