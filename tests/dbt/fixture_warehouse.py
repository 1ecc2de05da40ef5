"""A tiny, hand-checkable working warehouse (raw + audit + quarantine + matching) for dbt tests.

Tables and columns follow docs/contracts.md exactly. The rows tell one small story so every KPI
value the tests assert can be computed by hand (see the comments next to each block):

territories  N1 (nation) > R1 (region) > D1 (district) > T1, T2 (territories)
customers    C1 hospital 三甲 (T1) · C2 hospital 二甲 (T1, realigned to T2 on 2026-02-15)
             C3 pharmacy (T2) · C4 hospital 三乙 (T2)
products     P1 own (10 min units per box, 20 boxes per case, list price 100) · P2 competitor
distributors DA tier 1 and DB tier 2 must send flow; DC need not (region: DA derived R1, DB
             given as 华北大区 = R1, DC none)
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SNAP = "2026-04-30"

DDL = """
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists quarantine;
create schema if not exists matching;

create table raw.master__customers (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, crm_customer_id varchar, name varchar, customer_type varchar, level varchar,
  province varchar, city varchar, district varchar, address varchar, beds integer, potential double);
create table raw.master__hcps (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, hcp_id varchar, crm_customer_id varchar, name varchar, department varchar,
  title varchar, grade varchar);
create table raw.master__products (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, product_id varchar, generic_name varchar, brand_name varchar, spec varchar,
  dosage_form varchar, pack_size integer, case_size integer, list_price double, is_own boolean,
  product_line varchar);
create table raw.master__distributors (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, distributor_code varchar, name varchar, tier integer, province varchar,
  city varchar, flow_required boolean, aliases varchar, region_id varchar);
create table raw.master__territories (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, territory_id varchar, parent_id varchar, level varchar, name varchar);
create table raw.master__customer_alignment (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, crm_customer_id varchar, territory_id varchar, product_line varchar,
  valid_from date, valid_to date);
create table raw.master__rep_assignments (file_id bigint, source_row integer, sheet varchar,
  snapshot_date date, rep_id varchar, rep_name varchar, territory_id varchar, valid_from date,
  valid_to date);
create table raw.flow__lines (file_id bigint, source_row integer, sheet varchar,
  distributor_code varchar, sale_date date, buyer_code varchar, buyer_name varchar,
  buyer_address varchar, product_name varchar, spec varchar, manufacturer varchar,
  batch_no varchar, expiry_date date, quantity double, unit varchar, raw_unit varchar,
  unit_price double, amount double, doc_type varchar);
create table raw.inventory__lines (file_id bigint, source_row integer, sheet varchar,
  distributor_code varchar, snapshot_date date, product_name varchar, spec varchar,
  batch_no varchar, expiry_date date, quantity double, unit varchar, raw_unit varchar);
create table raw.sellin__shipments (file_id bigint, source_row integer, sheet varchar,
  invoice_no varchar, line_no integer, ship_date date, distributor_code varchar,
  product_id varchar, quantity_boxes double, amount double);
create table raw.crm__calls (file_id bigint, source_row integer, sheet varchar, call_id varchar,
  rep_id varchar, hcp_id varchar, crm_customer_id varchar, call_datetime timestamp,
  channel varchar, products varchar, report_submitted_at timestamp, objective_met boolean,
  next_step varchar);
create table raw.marketing__activities (file_id bigint, source_row integer, sheet varchar,
  activity_id varchar, activity_type varchar, crm_customer_id varchar, product_id varchar,
  start_date date, end_date date, cost double, territory_id varchar);
create table raw.tenders__results (file_id bigint, source_row integer, sheet varchar,
  province varchar, tender_name varchar, batch varchar, announce_date date, result_date date,
  generic_name varchar, spec varchar, bidder varchar, result varchar, bid_price double,
  is_volume_based boolean, hospital_name varchar);
create table raw.plan__targets (file_id bigint, source_row integer, sheet varchar,
  month varchar, territory_id varchar, product_id varchar, target_amount double,
  target_boxes double);

create table audit.file_registry (file_id bigint, path varchar, sha256 varchar, source varchar,
  entity varchar, distributor_code varchar, period_start date, period_end date,
  received_at timestamp, loaded_at timestamp, status varchar, rows_read integer,
  rows_loaded integer, rows_quarantined integer, reasons varchar[], duplicate_of bigint,
  superseded_by bigint, conflict_with bigint, run_id varchar);
create table quarantine.rows (file_id bigint, source varchar, distributor_code varchar,
  source_row integer, sheet varchar, reason varchar, column_name varchar, raw_values json,
  quarantined_at timestamp);

create table matching.customer_source_map (source varchar, distributor_code varchar,
  buyer_code varchar, raw_name varchar, source_key varchar, normalized_name varchar,
  buyer_kind varchar, buyer_distributor_code varchar, crm_customer_id varchar,
  match_status varchar, match_method varchar, match_score double, evidence json,
  candidates json);
create table matching.product_source_map (distributor_code varchar, raw_product varchar,
  raw_spec varchar, product_id varchar, match_status varchar, match_method varchar,
  match_score double, box_factor_min_unit double, box_factor_case double);
create table matching.customer_ids (customer_id varchar, crm_customer_id varchar);
"""

M = 1  # file_id of every master file


def _rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    width = len(rows[0])
    con.executemany(f"insert into {table} values ({', '.join(['?'] * width)})", rows)


def create_fixture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        _rows(con, "raw.master__customers", [
            (M, 2, None, SNAP, "C1", "北京大学第三医院", "hospital", "三甲", "北京", "北京", "海淀", "", 1900, 100.0),
            (M, 3, None, SNAP, "C2", "海淀医院", "hospital", "二甲", "北京", "北京", "海淀", "", 600, 50.0),
            (M, 4, None, SNAP, "C3", "同仁堂药店", "pharmacy", "", "北京", "北京", "东城", "", 0, 10.0),
            (M, 5, None, SNAP, "C4", "朝阳医院", "hospital", "三乙", "北京", "北京", "朝阳", "", 1400, 80.0),
            # an older snapshot must be ignored
            (M, 2, None, "2025-12-31", "C9", "旧医院", "hospital", "三甲", "北京", "北京", "", "", 1, 1.0),
        ])
        _rows(con, "raw.master__hcps", [
            (M, 2, None, SNAP, "H1", "C1", "张医生", "心内科", "主任", "A"),
            (M, 3, None, SNAP, "H2", "C1", "李医生", "心内科", "主治", "B"),
            (M, 4, None, SNAP, "H3", "C4", "王医生", "内科", "主任", "C"),
        ])
        _rows(con, "raw.master__products", [
            (M, 2, None, SNAP, "P1", "阿托伐他汀钙片", "康立", "10mg*10片", "片剂", 10, 20, 100.0, True, None),
            (M, 3, None, SNAP, "P2", "瑞舒伐他汀钙片", "竞品", "10mg*7片", "片剂", 7, 50, 50.0, False, None),
        ])
        _rows(con, "raw.master__distributors", [
            # region: DA's is derived from its sales (R1), DB's given by name, DC has none
            (M, 2, None, SNAP, "DA", "国药控股北京", 1, "北京", "北京", True, "国控北京", None),
            (M, 3, None, SNAP, "DB", "北京二级商", 2, "北京", "北京", True, None, "华北大区"),
            (M, 4, None, SNAP, "DC", "天津一级商", 1, "天津", "天津", False, None, None),
        ])
        _rows(con, "raw.master__territories", [
            (M, 2, None, SNAP, "N1", None, "nation", "全国"),
            (M, 3, None, SNAP, "R1", "N1", "region", "华北大区"),
            (M, 4, None, SNAP, "D1", "R1", "district", "北京地区"),
            (M, 5, None, SNAP, "T1", "D1", "territory", "海淀片"),
            (M, 6, None, SNAP, "T2", "D1", "territory", "朝阳片"),
        ])
        _rows(con, "raw.master__customer_alignment", [
            (M, 2, None, SNAP, "C1", "T1", "", "2026-01-01", None),
            # C2 moves from T1 to T2 in the middle of February: sales before stay with T1
            (M, 3, None, SNAP, "C2", "T1", "", "2026-01-01", "2026-02-14"),
            (M, 4, None, SNAP, "C2", "T2", "", "2026-02-15", None),
            (M, 5, None, SNAP, "C3", "T2", "", "2026-01-01", None),
            (M, 6, None, SNAP, "C4", "T2", "", "2026-01-01", None),
        ])
        _rows(con, "raw.master__rep_assignments", [
            (M, 2, None, SNAP, "R01", "赵代表", "T1", "2026-01-01", None),
            (M, 3, None, SNAP, "R02", "钱代表", "T2", "2026-01-01", None),
        ])

        # ---- flow: file 10 DA Jan, 11 DA Feb (late), 12 DB Jan, 13 DA Mar, 14 DA Apr
        # file 9 was DA's first January file, superseded by file 10: its rows are gone from raw
        f = "raw.flow__lines"
        _rows(con, f, [
            # DA January: 10 + 20 (1 case to DB) + 5 (50 min units) boxes; 1 unknown product
            (10, 2, None, "DA", "2026-01-10", "K001", "北医三院", None, "阿托伐他汀钙片", "10mg*10片", None, "B1", None, 10.0, "box", "盒", None, 1000.0, "sale"),
            (10, 3, None, "DA", "2026-01-12", "K900", "北京二级商", None, "阿托伐他汀钙片", "10mg*10片", None, "B1", None, 1.0, "case", "件", None, None, "sale"),
            (10, 4, None, "DA", "2026-01-20", "", "同仁堂药店", None, "阿托伐他汀钙片", "10mg*10片", None, "B1", None, 50.0, "min_unit", "片", 10.0, None, "sale"),
            (10, 5, None, "DA", "2026-01-25", "K001", "北医三院", None, "神秘药", "1g", None, "B9", None, 3.0, "box", "盒", None, 90.0, "sale"),
            # DA February: C2 before and after its realignment, a return from C1, an unmatched clinic
            (11, 2, None, "DA", "2026-02-10", "", "海淀医院", None, "阿托伐他汀钙片", "10mg*10片", None, "B2", None, 4.0, "box", "盒", None, 400.0, "sale"),
            (11, 3, None, "DA", "2026-02-20", "", "海淀医院", None, "阿托伐他汀钙片", "10mg*10片", None, "B2", None, 6.0, "box", "盒", None, 600.0, "sale"),
            (11, 4, None, "DA", "2026-02-21", "K001", "北医三院", None, "阿托伐他汀钙片", "10mg*10片", None, "B1", None, -2.0, "box", "盒", None, -200.0, "return"),
            (11, 5, None, "DA", "2026-02-25", "", "某某诊所", None, "阿托伐他汀钙片", "10mg*10片", None, "B2", None, 3.0, "box", "盒", None, 300.0, "sale"),
            # DB January: 8 boxes to C4
            (12, 2, None, "DB", "2026-01-15", "", "朝阳医院", None, "阿托伐他汀", "10mg", None, "B1", None, 8.0, "box", "盒", None, 800.0, "sale"),
            # DA March and April
            (13, 2, None, "DA", "2026-03-05", "K001", "北医三院", None, "阿托伐他汀钙片", "10mg*10片", None, "B3", None, 10.0, "box", "盒", None, 1000.0, "sale"),
            (14, 2, None, "DA", "2026-04-08", "K001", "北医三院", None, "阿托伐他汀钙片", "10mg*10片", None, "B3", None, 5.0, "box", "盒", None, 500.0, "sale"),
        ])
        _rows(con, "raw.inventory__lines", [
            (20, 2, None, "DA", "2026-01-31", "阿托伐他汀钙片", "10mg*10片", "B1", None, 60.0, "box", "盒"),
            (21, 2, None, "DA", "2026-03-31", "阿托伐他汀钙片", "10mg*10片", "B3", None, 400.0, "min_unit", "片"),
        ])
        _rows(con, "raw.sellin__shipments", [
            (30, 2, None, "INV1", 1, "2026-01-03", "DA", "P1", 100.0, 9000.0),
            (30, 3, None, "INV2", 1, "2026-02-03", "DA", "P1", 20.0, 1800.0),
        ])
        calls = []
        # R01 in January: 10 calls on H1 (A, plan 8), 1 on H2 (B, plan 4), 1 on H3 (not a T1 target)
        for i in range(10):
            on_time = i < 5
            calls.append((40, 2 + i, None, f"K{i:02d}", "R01", "H1", "C1", f"2026-01-{5 + i:02d} 10:00:00",
                          "face_to_face", "P1", f"2026-01-{5 + i:02d} 18:00:00" if on_time else f"2026-01-{7 + i:02d} 11:00:00",
                          True, None))
        calls.append((40, 12, None, "K10", "R01", "H2", "C1", "2026-01-20 09:00:00", "remote", "P1",
                      "2026-01-21 08:59:00", True, None))
        calls.append((40, 13, None, "K11", "R01", "H3", "C4", "2026-01-21 09:00:00", "remote", "P1",
                      None, None, None))
        _rows(con, "raw.crm__calls", calls)
        _rows(con, "raw.marketing__activities", [
            (50, 2, None, "A1", "academic_meeting", "C1", "P1", "2026-02-01", "2026-02-01", 500.0, "T1"),
            (50, 3, None, "A2", "other", "C4", "P1", "2026-02-01", "2026-02-02", 0.0, "T2"),
        ])
        _rows(con, "raw.tenders__results", [
            (60, 2, None, "广东", "广东省集采", "", "2026-01-01", "2026-02-01", "阿托伐他汀钙片", "10mg", "华康制药有限公司", "中标", 10.0, True, None),
            (60, 3, None, "广东", "广东省集采", "", "2026-01-01", "2026-02-01", "阿托伐他汀钙片", "10mg", "乙药业", "中标", 9.0, True, None),
            (60, 4, None, "广东", "广东省集采", "", "2026-01-01", "2026-02-01", "阿托伐他汀钙片", "20mg", "华康制药有限公司", "未中标", 18.0, True, None),
        ])
        _rows(con, "raw.plan__targets", [
            (70, 2, None, "2026-01", "T1", "P1", 1000.0, 10.0),
            (70, 3, None, "2026-02", "T1", "P1", 2000.0, 20.0),
            (70, 4, None, "2026-01", "T2", "P1", 500.0, 5.0),
            (70, 5, None, "2026-02", "T2", "P1", 0.0, 0.0),
        ])

        reg = "audit.file_registry"
        def file(fid, path, source, dist, start, end, received, status, rows, quarantined=0,
                 entity=None, superseded_by=None):
            return (fid, path, f"sha{fid}", source, entity, dist, start, end, received,
                    "2026-05-10 08:00:00", status, rows, rows - quarantined if status != "superseded" else rows,
                    quarantined, [], None, superseded_by, None, "run1")
        _rows(con, reg, [
            file(1, "master/customers_2026-04-30.csv", "master", None, None, None, "2026-04-30 09:00:00", "loaded", 5, entity="customers"),
            file(9, "flow/DA/2026-01a.csv", "flow", "DA", "2026-01-01", "2026-01-31", "2026-02-01 09:00:00", "superseded", 3, superseded_by=10),
            file(10, "flow/DA/2026-01b.csv", "flow", "DA", "2026-01-10", "2026-01-25", "2026-02-05 09:00:00", "partial", 5, quarantined=1),
            file(11, "flow/DA/2026-02.csv", "flow", "DA", "2026-02-10", "2026-02-25", "2026-03-12 09:00:00", "loaded", 4),
            file(12, "flow/DB/2026-01.csv", "flow", "DB", "2026-01-15", "2026-01-15", "2026-02-08 09:00:00", "loaded", 1),
            file(13, "flow/DA/2026-03.csv", "flow", "DA", "2026-03-05", "2026-03-05", "2026-04-03 09:00:00", "loaded", 1),
            file(14, "flow/DA/2026-04.csv", "flow", "DA", "2026-04-08", "2026-04-08", "2026-05-09 09:00:00", "loaded", 1),
            file(20, "inventory/DA/2026-01.csv", "inventory", "DA", "2026-01-31", "2026-01-31", "2026-02-02 09:00:00", "loaded", 1),
            file(21, "inventory/DA/2026-03.csv", "inventory", "DA", "2026-03-31", "2026-03-31", "2026-04-02 09:00:00", "loaded", 1),
            file(30, "sellin/2026.csv", "sellin", None, "2026-01-03", "2026-02-03", "2026-03-01 09:00:00", "loaded", 2),
            file(40, "calls/2026-01.csv", "calls", None, "2026-01-05", "2026-01-21", "2026-02-01 09:00:00", "loaded", 12),
            file(50, "activities/2026.csv", "activities", None, "2026-02-01", "2026-02-02", "2026-03-01 09:00:00", "loaded", 2),
            file(60, "tenders/gd.csv", "tenders", None, None, None, "2026-03-01 09:00:00", "loaded", 3),
            file(70, "targets/2026.csv", "targets", None, "2026-01-01", "2026-02-28", "2026-01-01 09:00:00", "loaded", 4),
        ])
        _rows(con, "quarantine.rows", [
            (10, "flow", "DA", 6, None, "unparseable date", "sale_date", '{"日期": "2026-13-45"}', "2026-05-10 08:00:00"),
        ])

        def cmap(dist, code, raw, kind, crm, status, buyer_dist=None, score=1.0):
            key = code or raw
            return ("flow", dist, code, raw, key, raw, kind, buyer_dist, crm, status,
                    "exact" if crm else None, score if crm else None, "{}", "[]")
        _rows(con, "matching.customer_source_map", [
            cmap("DA", "K001", "北医三院", "terminal", "C1", "auto"),
            cmap("DA", "K900", "北京二级商", "distributor", None, "auto", buyer_dist="DB"),
            cmap("DA", "", "同仁堂药店", "terminal", "C3", "auto"),
            cmap("DA", "", "海淀医院", "terminal", "C2", "manual"),
            cmap("DA", "", "某某诊所", "terminal", None, "unmatched"),
            cmap("DB", "", "朝阳医院", "terminal", "C4", "auto"),
        ])
        _rows(con, "matching.product_source_map", [
            ("DA", "阿托伐他汀钙片", "10mg*10片", "P1", "auto", "exact", 1.0, 0.1, 20.0),
            ("DA", "神秘药", "1g", None, "unmatched", None, None, None, None),
            ("DB", "阿托伐他汀", "10mg", "P1", "auto", "fuzzy", 0.93, 0.1, 20.0),
        ])
        _rows(con, "matching.customer_ids", [
            ("cust_0001", "C1"), ("cust_0002", "C2"), ("cust_0003", "C3"), ("cust_0004", "C4"),
        ])
    finally:
        con.close()
    return path


if __name__ == "__main__":  # python -m tests.dbt.fixture_warehouse /tmp/x.duckdb
    import sys

    print(create_fixture(Path(sys.argv[1])))
