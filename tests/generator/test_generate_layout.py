from __future__ import annotations

import json
from pathlib import Path

from orchestration import cli
from tests.generator.conftest import read_truth

SOURCES = ["master", "flow", "inventory", "sellin", "calls", "activities", "tenders", "targets"]
TRUTH_HEADERS = {
    "customer_truth": "source,distributor_code,buyer_code,raw_name,crm_customer_id,buyer_kind,"
                      "buyer_distributor_code,ambiguous_with",
    "product_truth": "distributor_code,raw_product,raw_spec,raw_unit,product_id,box_factor",
    "inventory_truth": "month,distributor_code,product_id,opening_boxes,purchase_boxes,sales_boxes,"
                       "closing_boxes",
    "files": "path,kind,expected_status,rows,quarantined_rows,note",
    "anomalies": "kind,distributor_code,product_id,month,details",
}
SYSTEM_HEADERS = {
    "master/customers_": "crm_customer_id,name,customer_type,level,province,city,district,address,beds,potential",
    "master/hcps_": "hcp_id,crm_customer_id,name,department,title,grade",
    "master/products_": "product_id,generic_name,brand_name,spec,dosage_form,pack_size,case_size,list_price,is_own,product_line",
    "master/distributors_": "distributor_code,name,tier,province,city,flow_required,aliases,region_id",
    "master/territories_": "territory_id,parent_id,level,name",
    "master/customer_alignment_": "crm_customer_id,territory_id,product_line,valid_from,valid_to",
    "master/rep_assignments_": "rep_id,rep_name,territory_id,valid_from,valid_to",
    "sellin/": "invoice_no,line_no,ship_date,distributor_code,product_id,quantity_boxes,amount",
    "calls/": "call_id,rep_id,hcp_id,crm_customer_id,call_datetime,channel,products,report_submitted_at,"
              "objective_met,next_step",
    "activities/": "activity_id,activity_type,crm_customer_id,product_id,start_date,end_date,cost,territory_id",
    "targets/": "month,territory_id,product_id,target_amount,target_boxes",
}


def _first_line(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def test_every_source_folder_and_truth_file(small_inbox) -> None:
    out, result = small_inbox
    for name in SOURCES:
        assert (out / name).is_dir(), name
        assert any((out / name).rglob("*.*")), f"{name} is empty"
    for name, header in TRUTH_HEADERS.items():
        assert _first_line(out / "_truth" / f"{name}.csv") == header
    assert _first_line(out / "_truth" / "sell_out_truth.csv").startswith(
        "month,distributor_code,crm_customer_id,buyer_kind,product_id,qty_boxes,amount")
    assert result.exit_code == 0 and result.flow_rows > 0
    assert json.dumps(result.to_dict(), ensure_ascii=False)


def test_system_extracts_have_exact_columns(small_inbox) -> None:
    out, _ = small_inbox
    for prefix, header in SYSTEM_HEADERS.items():
        files = [p for p in out.rglob("*.csv") if str(p.relative_to(out)).startswith(prefix)]
        assert files, prefix
        for f in files:
            assert _first_line(f) == header, f


def test_every_file_is_listed_with_a_valid_status(small_inbox) -> None:
    out, _ = small_inbox
    listed = {r["path"]: r for r in read_truth(out, "files")}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
               and not str(p.relative_to(out)).startswith("_truth")}
    assert on_disk == set(listed)
    statuses = {r["expected_status"] for r in listed.values()}
    assert statuses <= {"loaded", "partial", "rejected", "duplicate", "superseded", "conflict"}
    assert {"rejected", "duplicate", "superseded", "conflict", "partial"} <= statuses
    for r in listed.values():
        if r["expected_status"] == "partial":
            assert int(r["quarantined_rows"]) > 0, r
        if r["expected_status"] == "duplicate":
            original = r["note"].removeprefix("byte-identical copy of ")
            dup = out / r["path"]
            assert (dup.parent / original).read_bytes() == dup.read_bytes()


def test_corrupt_files_are_rejected(small_inbox) -> None:
    out, _ = small_inbox
    rejected = {r["path"]: r["note"] for r in read_truth(out, "files") if r["expected_status"] == "rejected"}
    notes = " ".join(rejected.values())
    for kind in ("truncated xlsx", "random bytes", "empty file", "header only"):
        assert kind in notes, kind
    for path in rejected:
        if "empty file" in rejected[path]:
            assert (out / path).stat().st_size == 0


def test_arrival_times_follow_the_period(small_inbox) -> None:
    out, _ = small_inbox
    files = read_truth(out, "files")
    superseded = [r for r in files if r["expected_status"] == "superseded"]
    for old in superseded:
        folder = (out / old["path"]).parent
        resent = [p for p in folder.iterdir() if "_更正" in p.name]
        assert resent and max(p.stat().st_mtime for p in resent) > (out / old["path"]).stat().st_mtime


def test_cli_generate_json(tmp_path, capsys) -> None:
    code = cli.main(["generate", "--json", "--out", str(tmp_path / "x"), "--customers", "40",
                     "--months", "2", "--seed", "3"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["files_per_source"]["flow"] > 0 and payload["customers"] == 40
