"""Import and export in HSDS 3.0 JSON (validated against ../shared/hsds/schema, read from there,
never copied) and in a spreadsheet CSV: round trips, and bad files reported row by row."""
import copy
import csv
import io
import json

import pytest

from netsterk.settings import REPO_ROOT, SHARED_DIR
from netsterk_ops import demo
from services.matching import hsds, spreadsheet
from services.matching.schemas import InvalidDirectory, validate_directory

SCHEMAS = SHARED_DIR / "hsds" / "schema"
EXAMPLES = SHARED_DIR / "hsds" / "examples"


def entries():
    """The demo directory as export_directory gives it (every optional field filled in)."""
    clean = validate_directory("mechelen", copy.deepcopy(demo.ORGANISATIONS))
    for org in clean:
        org["last_confirmed"] = org["last_confirmed"].isoformat() if org["last_confirmed"] else None
        for offer in org["offers"]:
            offer["last_confirmed"] = offer["last_confirmed"].isoformat() if offer["last_confirmed"] else None
    return clean


def test_the_schemas_are_read_from_the_shared_folder():
    assert (SCHEMAS / "service.json").is_file()
    assert not list(REPO_ROOT.glob("**/hsds/schema/service.json"))


def test_hsds_export_is_valid_against_the_schemas_and_round_trips():
    document = hsds.export_document("mechelen", entries())
    assert hsds.schema_problems(document, SCHEMAS) == []
    assert len(document["services"]) == 13 and len(document["organizations"]) == 10
    service = next(s for s in document["services"] if s["name"] == "NAFT-traject op maat")
    assert service["minimum_age"] == 12 and service["assured_date"] == "2026-10-01"
    assert {a["name"] for a in service["service_areas"]} == set(demo.MECHELEN_POSTCODES)
    assert {"truancy", "motivation"} <= {a["taxonomy_term"]["code"] for a in service["attributes"]}
    back = hsds.read_document(json.dumps(document), SCHEMAS)
    assert validate_directory("mechelen", back) == validate_directory("mechelen", entries())


def test_public_hsds_has_no_staff():
    document = hsds.export_document("mechelen", entries(), with_staff=False)
    assert "Sofie" not in json.dumps(document)
    assert all(org["contacts"] == [] for org in document["organizations"])


def test_bad_hsds_reports_every_object_with_its_path_and_reason():
    document = hsds.export_document("mechelen", entries())
    document["services"][0]["status"] = "sometimes"
    document["services"][2]["minimum_age"] = "twelve"
    del document["organizations"][1]["name"]
    document["services"][3]["id"] = "not-a-uuid"
    with pytest.raises(InvalidDirectory) as info:
        hsds.read_document(document, SCHEMAS)
    problems = info.value.problems
    assert any(p.startswith("services[0]") and "status: 'sometimes' is not one of" in p for p in problems)
    assert any(p.startswith("services[2]") and "minimum_age: 'twelve' is not of type 'number'" in p for p in problems)
    assert any(p.startswith("organizations[1]") and "'name' is a required property" in p for p in problems)
    assert any(p.startswith("services[3] (not-a-uuid) id") for p in problems)


def test_schema_valid_hsds_from_elsewhere_is_refused_for_what_the_directory_needs():
    service = json.loads((EXAMPLES / "service_full.json").read_text())
    organisation = service.pop("organization")
    document = {"organizations": [organisation], "services": [dict(service, organization_id=organisation["id"])]}
    assert hsds.schema_problems(document, SCHEMAS) == []
    with pytest.raises(InvalidDirectory) as info:
        hsds.read_document(document, SCHEMAS)
    assert info.value.problems == [
        f"services[0] ({service['id']}) attributes: no netsterk_concern attribute (concern category)"]


def test_not_json_is_refused():
    with pytest.raises(InvalidDirectory, match="not valid JSON"):
        hsds.read_document("{oops", SCHEMAS)


def test_csv_round_trips_without_staff():
    text = spreadsheet.export_csv(entries())
    assert text.splitlines()[0].startswith("organisation_id;organisation_name;")
    assert "Sofie" not in text
    assert "MO,TU,WE,TH,FR 09:00-17:00" in text
    back = validate_directory("mechelen", spreadsheet.read_csv(text))
    assert [dict(o, staff=[]) for o in back] == [dict(o, staff=[]) for o in validate_directory("mechelen", entries())]


def test_csv_from_a_spreadsheet_with_commas_bom_and_day_ranges():
    text = ("\ufefforganisation_id,organisation_name,organisation_kind,organisation_email,offer_id,offer_name,"
            "categories,postcodes,min_age,max_age,capacity,opening_hours\r\n"
            'kiel,Buurtwerk Kiel,partner,info@kiel.example.org,kiel-1,Huiswerkklas,"learning,leisure",'
            '"2020,2660",6,14,4,MO-FR 15:30-18:00 / SA 10:00-12:00\r\n'
            "kiel,Buurtwerk Kiel,partner,info@kiel.example.org,,,,,,,,\r\n")
    [org] = validate_directory("antwerpen", spreadsheet.read_csv(text))
    [offer] = org["offers"]
    assert offer["categories"] == ["learning", "leisure"] and offer["postcodes"] == ["2020", "2660"]
    assert offer["opening_hours"] == [{"days": ["MO", "TU", "WE", "TH", "FR"], "opens": "15:30", "closes": "18:00"},
                                      {"days": ["SA"], "opens": "10:00", "closes": "12:00"}]


def test_bad_csv_reports_every_bad_row_with_its_line_and_reason():
    table = list(csv.reader(io.StringIO(spreadsheet.export_csv(entries())), delimiter=";"))
    header, rows = table[0], table[1:]

    def cell(row, column, value):
        rows[row][header.index(column)] = value
    cell(0, "min_age", "twelve")                 # line 2
    cell(1, "opening_hours", "maandag 9-5")      # line 3
    cell(2, "categories", "")                    # line 4
    cell(3, "organisation_email", "nope")        # line 5: profo again, other e-mail than line 4
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([header] + rows)
    text = out.getvalue()
    with pytest.raises(InvalidDirectory) as info:
        spreadsheet.read_csv(text)
    problems = info.value.problems
    assert "line 2: min_age and max_age must be whole numbers from 0 to 99" in problems
    assert "line 3: opening hours 'maandag 9-5' must read like 'MO-FR 09:00-17:00'" in problems
    assert "line 4: categories must be a non-empty list of codes" in problems
    assert "line 5: email of profo differs from line 4" in problems
    assert [int(p.split(":")[0].split()[1]) for p in problems] == sorted(int(p.split(":")[0].split()[1]) for p in problems)


def test_csv_without_required_columns_is_refused():
    with pytest.raises(InvalidDirectory, match="line 1: missing column"):
        spreadsheet.read_csv("name;email\r\nx;y\r\n")
