"""``wattwise estimate image | video | compare`` and ``infer`` admission through the real CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wattwise.cli import main


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = _cli([*argv, "--json"], capsys)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_acceptance_image_and_video_print_wh_per_item_for_three_boundaries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    img = _json(["estimate", "image", "--params", "12e9", "--steps", "50", "--width", "1024",
                 "--height", "1024", "--hardware", "H100"], capsys)  # fmt: skip
    vid = _json(["estimate", "video", "--params", "14e9", "--steps", "50", "--frames", "81",
                 "--width", "832", "--height", "480", "--hardware", "H100"], capsys)  # fmt: skip
    for data, key in ((img, "wh_per_image"), (vid, "wh_per_video")):
        assert set(data[key]) == {"accelerators", "node", "facility"}
        assert data[key]["facility"]["value"] > data[key]["accelerators"]["value"] > 0
        assert {a["name"] for a in data["assumptions"]} >= {"mfu", "cfg", "pue"}
    assert vid["wh_per_video"]["node"]["value"] > 10 * img["wh_per_image"]["node"]["value"]
    off = _json(["estimate", "image", "--params", "12e9", "--steps", "50", "--width", "1024",
                 "--height", "1024", "--hardware", "H100", "--no-cfg"], capsys)  # fmt: skip
    assert off["denoiser_passes"] == img["denoiser_passes"] // 2


def test_acceptance_infer_admits_what_the_kv_cache_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(["estimate", "infer", "--params", "70e9", "--hardware", "H100", "--chips", "4",
                  "--batch-size", "1024", "--input-tokens", "1000", "--output-tokens", "500"],
                 capsys)  # fmt: skip
    assert data["concurrency"]["requested"] == 1024
    assert 0 < data["concurrency"]["admitted"] < 1024
    code, _, err = _cli(["estimate", "infer", "--params", "405e9", "--hardware", "H100",
                         "--chips", "4", "--input-tokens", "10", "--output-tokens", "10"],
                        capsys)  # fmt: skip
    assert code == 2 and "cannot hold" in err


def test_compare_is_one_sorted_table_with_provenance_and_labelled_gaps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["estimate", "compare", "--hardware", "h100,a100-80gb,l4,mi300x,tpu-v5e", "--json",
            "--", "infer", "--params", "8e9", "--input-tokens", "500", "--output-tokens", "300",
            "--requests-per-second", "2", "--price", "0.2", "--currency", "EUR"]  # fmt: skip
    code, out, err = _cli(argv, capsys)
    assert code == 0, err
    rows = json.loads(out)["rows"]
    site = {a["name"]: a for a in json.loads(out)["site"]}
    assert site["electricity_price"]["unit"] == "EUR/kWh"
    assert [r["hardware"] for r in rows][-1] == "tpu-v5e"
    assert rows[-1]["error"].startswith("not shipped")
    done = [r for r in rows if not r["error"]]
    assert len(done) == 4
    energies = [r["wh_per_unit"]["value"] for r in done]
    assert energies == sorted(energies)
    for r in done:
        assert r["currency"] == "EUR" and r["cost_per_year"] > 0
        assert r["provenance"].startswith("estimated") and "peak_flops" in r["provenance"]
        assert r["replicas"] >= 1
    code, out, _ = _cli([a for a in argv if a != "--json"], capsys)
    assert code == 0 and "provenance" in out and "not shipped" in out
    code, _, err = _cli(["estimate", "compare", "--hardware", "h100"], capsys)
    assert code == 2 and "workload after --" in err


def test_readme_compare_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.replace("\\\n", " ").splitlines()
             if ln.startswith("wattwise estimate compare ")]  # fmt: skip
    assert lines
    argv = shlex.split(lines[0])[1:]
    argv.insert(2, "--json")
    code, out, err = _cli(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["workload"] == "infer"
    grid = next(a for a in data["site"] if a["name"] == "grid_intensity_location")
    assert "grid_country.csv (2024" in grid["source"]  # the latest year, shown
