"""One declarative settings table drives the estimate commands' flags and the parameter objects
(issue 11 A: the estimators forwarded 15-19 keyword arguments by hand and the CLI renamed flags
the accounting SETTINGS table already declares). The table is checked against the objects, the
keyword functions and ``--help``, as Datasette checks its docs against its settings."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from wattwise.accounting.context import SETTINGS as ACCOUNTING_SETTINGS
from wattwise.cli import Parser
from wattwise.cli.estimate import COMMANDS, register
from wattwise.errors import ConfigError
from wattwise.estimate import estimate_finetune, estimate_inference, estimate_training
from wattwise.estimate.inference import serving_estimate
from wattwise.estimate.inputs import FinetuneInputs, ServingInputs, SiteInputs, TrainingInputs
from wattwise.estimate.settings import INPUTS, SETTINGS, EstimateSetting, settings_for
from wattwise.estimate.training import training_estimate


def _target(s: EstimateSetting, command: str) -> type[Any]:
    return SiteInputs if s.group == "site" else INPUTS[command]


def _fields(cls: type[Any]) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


@pytest.fixture
def clean_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No WATTWISE_* variable and no config file: the CLI sees only its flags."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("WATTWISE_")]:
        monkeypatch.delenv(name)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = Parser(prog="wattwise")
    register(parser.add_subparsers(dest="command", parser_class=Parser))
    try:
        args = parser.parse_args(argv)
        code = args.handler(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = _run(["estimate", *argv, "--json"], capsys)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_every_setting_has_a_flag_a_help_text_and_a_field_in_its_parameter_object() -> None:
    assert set(INPUTS) == set(COMMANDS)
    for s in SETTINGS:
        assert s.flag.startswith("--") and s.help.strip(), s.name
        assert s.commands and set(s.commands) <= set(COMMANDS), s.name
        for command in s.commands:
            assert s.name in _fields(_target(s, command)), (s.name, command)


def test_every_field_of_every_parameter_object_is_a_setting() -> None:
    """Nothing the estimators take is out of reach of the command line."""
    for command, cls in INPUTS.items():
        names = {s.name for s in settings_for(command)}
        assert set(_fields(cls)) <= names, command
        assert set(_fields(SiteInputs)) <= names, command


def test_setting_defaults_are_the_parameter_objects_defaults() -> None:
    """One default per input: the table's, the dataclass's and the one ``--help`` shows."""
    for s in SETTINGS:
        for command in s.commands:
            f = _fields(_target(s, command))[s.name]
            if f.default is dataclasses.MISSING:
                assert command in s.required, (s.name, command)
            else:
                assert f.default == s.default, (s.name, command)


def test_no_flag_is_renamed() -> None:
    """An estimate setting's flag is its field with dashes; a site setting's flag is the
    accounting table's (the flags ``wattwise footprint`` takes)."""
    accounting = {a.field: a for a in ACCOUNTING_SETTINGS}
    for s in SETTINGS:
        if s.group == "site":
            assert s.flag == accounting[s.name].flag, s.name
            assert s.help == accounting[s.name].help, s.name
        else:
            assert s.flag == "--" + s.name.replace("_", "-"), s.name


def test_flags_are_unique_within_each_command() -> None:
    for command in COMMANDS:
        flags = [f for s in settings_for(command) for f in s.flags]
        assert len(flags) == len(set(flags)), command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_every_setting_with_its_help_text(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["estimate", command, "--help"], capsys)
    assert code == 0
    squeezed = "".join(out.split())  # argparse wraps lines
    for s in settings_for(command):
        for flag in s.flags:
            assert flag in out, (command, flag)
        assert "".join(s.help_text.split()) in squeezed, (command, s.name)


@pytest.mark.parametrize(
    ("function", "cls", "extra"),
    [
        (estimate_training, TrainingInputs, {"context"}),
        (estimate_finetune, FinetuneInputs, {"context"}),
        (estimate_inference, ServingInputs, {"context", "training"}),
    ],
)
def test_keyword_functions_take_exactly_the_parameter_objects_fields(
    function: Any, cls: type[Any], extra: set[str]
) -> None:
    """The keyword forms build their object from their own arguments: a field added to the
    dataclass without the keyword (or the other way round) fails here."""
    params = inspect.signature(function).parameters
    fields = _fields(cls)
    assert set(params) == set(fields) | extra
    for name, f in fields.items():
        p = params[name]
        if p.default is not inspect.Parameter.empty:
            assert p.default == f.default, name


def test_parameter_objects_are_frozen_and_check_their_values() -> None:
    inputs = TrainingInputs(hardware="H100", chip_hours=10.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.chip_hours = 20.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="params must be a positive"):
        TrainingInputs(hardware="H100", params=-1.0)
    with pytest.raises(ConfigError, match="fine-tuning needs params"):
        FinetuneInputs(hardware="H100", tokens=1e6)
    with pytest.raises(ConfigError, match="needs input or output"):
        ServingInputs(hardware="H100", params=8e9, input_tokens=0, output_tokens=0)


def test_training_tokens_and_a_known_training_energy_together_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Both used to be accepted and the known energy silently ignored."""
    code, out, err = _run(["estimate", "infer", "--hardware", "H100", "--params", "8B",
                           "--input-tokens", "100", "--output-tokens", "100",
                           "--training-tokens", "1T", "--training-energy-kwh", "5000"],
                          capsys)  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1 and "not both" in err


def test_serving_estimate_makes_the_training_estimate_from_training_tokens() -> None:
    serving = ServingInputs(hardware="H100", params=8e9, input_tokens=500, output_tokens=300,
                            requests_per_day=1e6, training_tokens=1.5e13)  # fmt: skip
    trained = training_estimate(TrainingInputs(hardware="H100", params=8e9, tokens=1.5e13))
    plain = dataclasses.replace(serving, training_tokens=None)
    a = serving_estimate(serving).to_dict()
    b = serving_estimate(plain, training=trained).to_dict()
    assert a["breakeven_days"] == b["breakeven_days"] and a["breakeven_day"] > 0


def test_old_flag_spellings_still_work(
    clean_site: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--grid-intensity``, ``--market-intensity`` and infer's ``--mfu`` are aliases of the
    table's flags, not separate options."""
    train = ["train", "--hardware", "H100", "--chip-hours", "100"]
    old = _json([*train, "--grid-intensity", "100", "--market-intensity", "10"], capsys)
    new = _json([*train, "--intensity", "100", "--supplier-factor", "10"], capsys)
    assert old == new
    infer = ["infer", "--hardware", "H100", "--params", "8B", "--input-tokens", "1000",
             "--output-tokens", "10"]  # fmt: skip
    old_mfu = _json([*infer, "--mfu", "0.3"], capsys)
    assert old_mfu == _json([*infer, "--mfu-prefill", "0.3"], capsys)


def test_a_given_site_value_names_the_flag_that_exists(
    clean_site: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The source of ``--price 0.3`` read "given by you (--price-per-kwh)", a flag that does
    not exist; it names the flag the user can type."""
    d = _json(["train", "--hardware", "H100", "--chip-hours", "100", "--grid-intensity", "100",
               "--market-intensity", "10", "--price", "0.3", "--currency", "EUR"],
              capsys)  # fmt: skip
    by = {a["name"]: a for a in d["assumptions"]}
    flags = {f for s in settings_for("train") for f in s.flags}
    for name, flag in (("grid_intensity_location", "--intensity"),
                       ("grid_intensity_market", "--supplier-factor"),
                       ("electricity_price", "--price")):  # fmt: skip
        assert by[name]["provenance"] == "given"
        assert by[name]["source"] == f"given by you ({flag})" and flag in flags


def test_cli_and_parameter_objects_give_the_same_estimate(
    clean_site: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from wattwise.estimate.training import finetune_estimate

    cli = _json(["finetune", "--hardware", "A100", "--params", "7B", "--tokens", "200M",
                 "--method", "qlora", "--chips", "4", "--mfu", "0.3", "--power-w", "300",
                 "--scratch-tokens", "1T", "--pue", "1.2"], capsys)  # fmt: skip
    site = SiteInputs(pue=1.2).context()
    api = finetune_estimate(
        FinetuneInputs(hardware="A100", params=7e9, tokens=2e8, method="qlora", chips=4, mfu=0.3,
                       power_w=300.0, scratch_tokens=1e12),
        site,
    ).to_dict()  # fmt: skip
    assert cli == api


def _readme_estimate_commands() -> list[list[str]]:
    """Every ``wattwise estimate train|finetune|infer`` example in the README, as argv."""
    import shlex

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        words = shlex.split(line.split("#")[0]) if line.startswith("wattwise estimate ") else []
        if len(words) > 2 and words[2] in COMMANDS:
            out.append(words[1:])
    return out


def test_readme_examples_use_only_the_tables_flags(clean_site: None) -> None:
    """The docs are checked against the table: each README example parses, and each flag it
    uses is a setting of its command (or ``--json``)."""
    examples = _readme_estimate_commands()
    assert examples, "no estimate example found in README.md"
    for argv in examples:
        parser = Parser(prog="wattwise")
        register(parser.add_subparsers(dest="command", parser_class=Parser))
        parser.parse_args(argv)  # SystemExit(2) on a flag the table does not have
        known = {f for s in settings_for(argv[1]) for f in s.flags} | {"--json"}
        used = {w.split("=")[0] for w in argv if w.startswith("--")}
        assert used <= known, (argv, used - known)


def test_estimate_settings_lists_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``wattwise estimate settings`` prints the table itself: every flag once, with its help,
    and as JSON every entry with its commands, unit and default."""
    code, out, _ = _run(["estimate", "settings"], capsys)
    assert code == 0
    for s in SETTINGS:
        assert f"{', '.join(s.flags)}" in out and s.help in out, s.name
    code, out, _ = _run(["estimate", "settings", "--json"], capsys)
    rows = json.loads(out)
    assert [r["name"] for r in rows] == [s.name for s in SETTINGS]
    by = {r["name"]: r for r in rows}
    assert by["precision"]["default"] == "bf16" and by["power_w"]["unit"] == "W"
    assert by["intensity_g_per_kwh"]["flag"] == "--intensity"
    assert by["input_tokens"]["required"] == ["infer"]
