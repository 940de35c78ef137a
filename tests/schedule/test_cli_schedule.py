"""``wattwise schedule``: the acceptance command, its errors, and the job inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli.clirun import one_line_error, wattwise
from wattwise.cli import main
from wattwise.data.hourly import hourly_us

WINDOW = ["--earliest", "2022-06-15T00:00Z", "--deadline", "2022-06-16T00:00Z"]


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["schedule", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_acceptance_ciso_4h_starts_in_the_low_carbon_hours() -> None:
    p = wattwise(
        "schedule", "--region", "CISO", "--duration", "4h", "--power-kw", "10", *WINDOW, "--json"
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["saving_fraction"] == pytest.approx(0.29, abs=0.005)
    # the day's lowest 4-hour mean in the shipped series, found here independently
    s = hourly_us("CISO")
    i0 = next(i for i, t in enumerate(s.timestamps_utc) if t.isoformat().startswith("2022-06-15"))
    day = s.intensity_g_per_kwh[i0 : i0 + 24]
    best = min(range(21), key=lambda k: sum(day[k : k + 4]))
    assert doc["plan"]["start_utc"] == f"2022-06-15T{best:02d}:00Z"
    assert doc["plan"]["mean_g_per_kwh"] == pytest.approx(sum(day[best : best + 4]) / 4, 1e-3)
    assert doc["now"]["start_utc"] == "2022-06-15T00:00Z"
    assert doc["provenance"]["forecast"] == "historical"
    assert doc["provenance"]["historical_hours"] == 24
    assert len(doc["regions"][0]["curve"]) == 24


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            [
                "--region",
                "CISO",
                "--earliest",
                "2022-06-16T00:00Z",
                "--deadline",
                "2022-06-15T00:00Z",
            ],
            "before the earliest",
        ),
        (["--region", "NOPE", *WINDOW], "unknown region"),
        (
            [
                "--region",
                "CISO",
                "--earliest",
                "2022-06-15T00:00Z",
                "--deadline",
                "2022-06-15T03:00Z",
            ],
            "shorter than the job",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "--duration", "4h", "--power-kw", "10", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_the_cli_error_is_one_line_in_a_real_process() -> None:
    p = wattwise(
        "schedule",
        "--region",
        "CISO",
        "--duration",
        "4h",
        "--power-kw",
        "10",
        "--earliest",
        "2022-06-16T00:00Z",
        "--deadline",
        "2022-06-15T00:00Z",
    )
    assert "before the earliest" in one_line_error(p)


def test_outside_the_series_the_forecast_is_assumed(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(
        capsys,
        "--region",
        "CISO",
        "--energy-kwh",
        "40",
        "--duration",
        "4h",
        "--earliest",
        "2031-06-18T00:00Z",
        "--deadline",
        "2031-06-19T00:00Z",
    )
    prov = doc["provenance"]
    assert prov["forecast"] == "assumed" and prov["assumed_hours"] == 24
    assert "2022" in prov["reference"]
    assert any("assumed" in w for w in doc["warnings"])
    # 2031-06-18 is a Wednesday: its analogue is Wednesday 2022-06-15, the acceptance day
    assert doc["saving_fraction"] == pytest.approx(0.29, abs=0.005)


def test_region_choice_names_the_trade_off(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(
        capsys,
        "--region",
        "aws:us-west-1",
        "--region",
        "gcp:us-west1",
        "--duration",
        "4h",
        "--power-kw",
        "10",
        *WINDOW,
        "--data-gb",
        "100",
    )
    assert doc["region"] == "gcp:us-west1"  # BPA (hydro) beats CAISO in June 2022
    assert "latency" in doc["trade_off"] and "egress" in doc["trade_off"]
    assert doc["regions"][1]["transfer_kwh"] == pytest.approx(0.1)
    assert doc["saving_fraction"] > doc["regions"][0]["saving_fraction_here"]


def test_interruptible_job_runs_in_pieces(capsys: pytest.CaptureFixture[str]) -> None:
    job = ("--region", "GB", "--duration", "6h", "--power-kw", "1",
           "--earliest", "2024-01-10T00:00Z", "--deadline", "2024-01-13T00:00Z")  # fmt: skip
    one = _json(capsys, *job)
    many = _json(capsys, *job, "--interruptible", "--min-chunk", "2h")
    assert many["plan"]["co2e_kg"] <= one["plan"]["co2e_kg"]
    for piece in many["plan"]["pieces"]:
        h = (int(piece["end_utc"][11:13]) - int(piece["start_utc"][11:13])) % 24
        assert h >= 2


def test_marginal_signal_is_erco_only(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(
        capsys,
        "--region",
        "ERCO",
        "--signal",
        "marginal",
        "--duration",
        "1h",
        "--power-kw",
        "1",
        *WINDOW,
    )
    assert doc["provenance"]["signal"] == "marginal"
    assert "Cambium" in doc["provenance"]["source"]
    assert (
        main(
            [
                "schedule",
                "--region",
                "CISO",
                "--signal",
                "marginal",
                "--duration",
                "1h",
                "--power-kw",
                "1",
                *WINDOW,
            ]
        )
        == 2
    )
    assert "ERCO" in capsys.readouterr().err


def test_job_from_an_estimate_and_cost_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    est = tmp_path / "est.json"
    est.write_text(
        json.dumps(
            {
                "kind": "finetune",
                "facility_energy_kwh": {"value": 120.0},
                "wall_clock_days": {"value": 0.25},
            }
        )
    )
    doc = _json(
        capsys,
        "--estimate",
        str(est),
        "--region",
        "CISO",
        "--region",
        "ERCO",
        "--objective",
        "cost",
        *WINDOW,
    )
    assert doc["job"]["energy_kwh"] == 120.0 and doc["job"]["duration_h"] == 6.0
    costs = {r["region"]: r["plan"]["cost"]["value"] for r in doc["regions"]}
    assert doc["region"] == min(costs, key=costs.__getitem__)
    # GB ships no price: the cost objective says so
    assert (
        main(
            [
                "schedule",
                "--estimate",
                str(est),
                "--region",
                "GB",
                "--objective",
                "cost",
                "--earliest",
                "2024-01-10T00:00Z",
            ]
        )
        == 2
    )
    assert "price" in capsys.readouterr().err


def test_the_readme_example_prints_what_the_readme_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Schedule: when and where to run\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    argv = shlex.split(block.group(1).replace("\\\n", " "))
    assert argv[0] == "wattwise"
    assert main(argv[1:]) == 0
    out = capsys.readouterr().out
    assert "2022-06-15T15:00Z" in out and "(29.0 %)" in out
    assert "6.119 kg" in out and "8.618 kg" in out
    assert "6.1 kg CO2e" in section and "8.6 kg" in section and "29 %" in section


def test_job_from_a_stored_run(capsys: pytest.CaptureFixture[str]) -> None:
    from wattwise.ledger import Ledger

    assert main(["run", "--quiet", "--", sys.executable, "-c", "import time; time.sleep(0.3)"]) == 0
    capsys.readouterr()
    with Ledger.open(None, readonly=True) as led:
        run = led.list_runs(limit=1)[0]
    argv = [
        "schedule",
        "--run",
        run.run_id[:10],
        "--duration",
        "2h",
        "--region",
        "GB",
        "--earliest",
        "2024-01-10T00:00Z",
        "--json",
    ]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["job"]["energy_kwh"] == pytest.approx(run.total_energy_j / 3.6e6)
    assert doc["job"]["duration_h"] == 2.0 and run.run_id[:12] in doc["job"]["source"]


def test_an_assumed_plan_says_what_such_plans_achieved(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(
        capsys,
        "--region",
        "ERCO",
        "--duration",
        "4h",
        "--power-kw",
        "1",
        "--earliest",
        "2031-03-04T00:00Z",
        "--deadline",
        "2031-03-05T04:00Z",
    )
    lines = [w for w in doc["warnings"] if "backtest over 2022" in w]
    assert len(lines) == 1 and "4 h jobs with 24 h of slack on ERCO" in lines[0]


def test_a_week_of_fine_tunes_each_in_its_own_clean_hours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    week = ["--earliest", "2022-06-13T00:00Z", "--deadline", "2022-06-20T00:00Z"]
    doc = _json(
        capsys, "--region", "CISO", "--jobs", "5", "--duration", "6h", "--power-kw", "8", *week
    )
    assert doc["job"]["runs"] == 5 and doc["job"]["energy_kwh"] == pytest.approx(240.0)
    pieces = doc["plan"]["pieces"]
    assert len(pieces) == 5
    one = _json(capsys, "--region", "CISO", "--duration", "30h", "--power-kw", "8", *week)
    assert doc["plan"]["co2e_kg"] < one["plan"]["co2e_kg"]  # five runs beat one 30 h block
    assert doc["now"]["co2e_kg"] == pytest.approx(one["now"]["co2e_kg"])
    assert (
        main(
            [
                "schedule",
                "--region",
                "CISO",
                "--jobs",
                "2",
                "--interruptible",
                "--duration",
                "1h",
                "--power-kw",
                "1",
                *week,
            ]
        )
        == 2
    )
    assert "--jobs" in capsys.readouterr().err
