"""`netsterk directory import|export` against the real matching service on the real broker."""
import argparse
import io
import json

import pytest

from netsterk.settings import SHARED_DIR
from netsterk_ops import demo
from netsterk_ops.cli import main
from netsterk_ops.directory_cli import run
from services.matching.service import MatchingService


@pytest.fixture
def matching(run_service, settings_env):
    run_service(MatchingService, HSDS_SCHEMA_DIR=str(SHARED_DIR / "hsds" / "schema"))
    return settings_env


def cli(settings, *argv):
    parser = argparse.Namespace
    out = io.StringIO()
    args = {"import": lambda: parser(action="import", network=argv[1], file=argv[2], format=None),
            "export": lambda: parser(action="export", network=argv[1], output=argv[2] if len(argv) > 2 else None,
                                     format=None, public=False)}[argv[0]]()
    return run(args, settings, out=out), out.getvalue()


def test_export_then_import_hsds_and_csv(matching, tmp_path, capsys):
    csv_file = tmp_path / "kiel.csv"
    csv_file.write_text(
        "organisation_id;organisation_name;organisation_kind;organisation_email;offer_id;offer_name;categories;"
        "postcodes;min_age;max_age;capacity\r\n"
        "kiel-buurtwerk;Buurtwerk Kiel;partner;info@kiel.example.org;kiel-huiswerk;Huiswerkklas;learning;2020;6;14;4\r\n",
        encoding="utf-8-sig")
    assert cli(matching, "import", "kiel", str(csv_file)) == (0, "imported into kiel: 1 organisations, 1 offers\n")
    code, _ = cli(matching, "export", "kiel", str(tmp_path / "kiel.json"))
    document = json.loads((tmp_path / "kiel.json").read_text())
    assert code == 0 and document["services"][0]["name"] == "Huiswerkklas"
    document["services"][0]["name"] = "Huiswerkklas Kiel"
    (tmp_path / "kiel.json").write_text(json.dumps(document))
    assert cli(matching, "import", "kiel", str(tmp_path / "kiel.json"))[0] == 0
    code, text = cli(matching, "export", "kiel")
    assert code == 0 and "Huiswerkklas Kiel" in text and text.startswith("{")


def test_a_bad_file_lists_every_bad_row_and_changes_nothing(matching, tmp_path, capsys):
    from netsterk import amqp
    amqp.rpc_call(matching.amqp_uri, "matching", "import_directory", "mechelen", demo.ORGANISATIONS, timeout=20)
    cli(matching, "export", "mechelen", str(tmp_path / "mechelen.csv"))
    lines = (tmp_path / "mechelen.csv").read_text().splitlines()
    lines[1] = lines[1].replace("naft@arktos.example.org", "kapot")
    number = next(n for n in range(3, len(lines)) if ";month;" in lines[n])
    lines[number] = lines[number].replace(";month;", ";year;")
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    assert cli(matching, "import", "mechelen", str(tmp_path / "bad.csv"))[0] == 1
    err = capsys.readouterr().err
    assert "not imported, nothing changed: 3 problem(s)" in err
    assert "line 2: email is not a valid e-mail address" in err
    assert "line 3: email of arktos differs from line 2" in err
    assert f"line {number + 1}: capacity_period must be one of week, month, quarter" in err


def test_missing_file_and_parser(matching, tmp_path, capsys):
    assert cli(matching, "import", "mechelen", str(tmp_path / "nope.json"))[0] == 2
    with pytest.raises(SystemExit):
        main(["directory", "import"])
