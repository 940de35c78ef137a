"""Fit the simulated GPU's constants to the H100 measurements; print the calibration error.

    PYTHONPATH=src python benchmarks/tune_calibrate.py          # errors of the shipped constants
    PYTHONPATH=src python benchmarks/tune_calibrate.py --fit    # refit (prints the constants)

Calibration points (``../shared/notes/optimization-on-cpu.md``, H100, vs the 700 W default):
matmul at 600 W: energy -8 %, time +8 %; matmul at 500 W: energy -16 %, time +20 %;
copy loop at 300 W: energy -21 %, time +0.3 %. The fit minimises the squared error of these six
ratios (in percentage points) with a Nelder-Mead search, no external dependency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from wattwise.power.gpu_model import H100, SHAPES, GpuModel, Shape, operating_point

#: (shape, limit W, measured energy ratio, measured time ratio) vs the 700 W default.
POINTS: tuple[tuple[str, float, float, float], ...] = (
    ("compute-bound", 600.0, 0.92, 1.08),
    ("compute-bound", 500.0, 0.84, 1.20),
    ("memory-bound", 300.0, 0.79, 1.003),
)
SOURCE = "../shared/notes/optimization-on-cpu.md (H100 measured, before this project)"


def ratios(model: GpuModel, shape: Shape, limit_w: float) -> tuple[float, float]:
    base = operating_point(model, shape, model.default_limit_w)
    op = operating_point(model, shape, limit_w)
    return (
        op.energy_per_step_j / base.energy_per_step_j,
        op.step_time_s / base.step_time_s,
    )


def errors(model: GpuModel, shapes: dict[str, Shape]) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for name, limit, e_meas, t_meas in POINTS:
        e_sim, t_sim = ratios(model, shapes[name], limit)
        rows.append(
            {
                "shape": name,
                "limit_w": limit,
                "energy_saving_measured": round(1 - e_meas, 4),
                "energy_saving_sim": round(1 - e_sim, 4),
                "slowdown_measured": round(t_meas - 1, 4),
                "slowdown_sim": round(t_sim - 1, 4),
                "energy_error_pp": round(100 * (e_sim - e_meas), 2),
                "time_error_pp": round(100 * (t_sim - t_meas), 2),
            }
        )
    return rows


def _unpack(x: list[float]) -> tuple[GpuModel, dict[str, Shape]]:
    static, dyn, mem, vmin, idle, copy_c = x
    model = dataclasses.replace(
        H100, static_w=static, dynamic_w=dyn, memory_w=mem, v_min=vmin, idle_activity=idle
    )
    shapes = dict(SHAPES)
    total = SHAPES["memory-bound"].compute_s + SHAPES["memory-bound"].memory_s
    shapes["memory-bound"] = Shape("memory-bound", compute_s=copy_c, memory_s=total - copy_c)
    return model, shapes


def _loss(x: list[float]) -> float:
    static, dyn, mem, vmin, idle, copy_c = x
    if not (50 <= static <= 150 and 300 <= dyn <= 2000 and 0 <= mem <= 300):
        return 1e9
    if not (0.2 <= vmin <= 0.9 and 0.0 <= idle <= 0.6 and 0.0 < copy_c < 0.01):
        return 1e9
    model, shapes = _unpack(x)
    rows = errors(model, shapes)
    return sum(float(r["energy_error_pp"]) ** 2 + float(r["time_error_pp"]) ** 2 for r in rows)


def nelder_mead(x0: list[float], scale: list[float], iters: int = 3000) -> list[float]:
    n = len(x0)
    pts = [list(x0)] + [[x0[j] + (scale[j] if j == i else 0.0) for j in range(n)] for i in range(n)]
    vals = [_loss(p) for p in pts]
    for _ in range(iters):
        order = sorted(range(n + 1), key=lambda i: vals[i])
        pts, vals = [pts[i] for i in order], [vals[i] for i in order]
        centroid = [sum(p[j] for p in pts[:-1]) / n for j in range(n)]
        refl = [centroid[j] + (centroid[j] - pts[-1][j]) for j in range(n)]
        fr = _loss(refl)
        if fr < vals[0]:
            exp = [centroid[j] + 2 * (centroid[j] - pts[-1][j]) for j in range(n)]
            fe = _loss(exp)
            pts[-1], vals[-1] = (exp, fe) if fe < fr else (refl, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = refl, fr
        else:
            con = [centroid[j] + 0.5 * (pts[-1][j] - centroid[j]) for j in range(n)]
            fc = _loss(con)
            if fc < vals[-1]:
                pts[-1], vals[-1] = con, fc
            else:
                best = pts[0]
                pts = [best] + [
                    [best[j] + 0.5 * (p[j] - best[j]) for j in range(n)] for p in pts[1:]
                ]
                vals = [vals[0]] + [_loss(p) for p in pts[1:]]
    return pts[min(range(n + 1), key=lambda i: vals[i])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="refit the constants")
    args = ap.parse_args()
    model, shapes = H100, dict(SHAPES)
    if args.fit:
        x0 = [
            H100.static_w,
            H100.dynamic_w,
            H100.memory_w,
            H100.v_min,
            H100.idle_activity,
            SHAPES["memory-bound"].compute_s,
        ]
        best = nelder_mead(x0, [10, 80, 20, 0.05, 0.05, 0.0002])
        model, shapes = _unpack(best)
        print(json.dumps({"fitted": [round(v, 5) for v in best], "loss": _loss(best)}))
    print(json.dumps({"source": SOURCE, "points": errors(model, shapes)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
