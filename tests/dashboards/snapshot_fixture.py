"""A small, hand-checkable published snapshot for the dashboard and scorecard tests.

Hierarchy: NAT 全国 → R-E 华东大区 (D-SH 上海地区 → T-SH1, T-SH2) and R-S 华南大区
(D-GZ 广州地区 → T-GZ1). Month 2026-10 is the as-of month; numbers are chosen so each
roll-up can be checked by hand (e.g. D-SH coverage = (8 + 5) / (10 + 10) = 65 %).

Run as a script to write one for a manual look: `python -m tests.dashboards.snapshot_fixture DIR`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

TERRITORIES = [
    # territory_id, name, level, territory_path, region_id, district_id, parent_id, depth
    ("NAT", "全国 National", "nation", "NAT", None, None, None, 0),
    ("R-E", "华东大区 East", "region", "NAT/R-E", "R-E", None, "NAT", 1),
    ("R-S", "华南大区 South", "region", "NAT/R-S", "R-S", None, "NAT", 1),
    ("D-SH", "上海地区 Shanghai", "district", "NAT/R-E/D-SH", "R-E", "D-SH", "R-E", 2),
    ("D-GZ", "广州地区 Guangzhou", "district", "NAT/R-S/D-GZ", "R-S", "D-GZ", "R-S", 2),
    ("T-SH1", "上海一区 Shanghai 1", "territory", "NAT/R-E/D-SH/T-SH1", "R-E", "D-SH", "D-SH", 3),
    ("T-SH2", "上海二区 Shanghai 2", "territory", "NAT/R-E/D-SH/T-SH2", "R-E", "D-SH", "D-SH", 3),
    ("T-GZ1", "广州一区 Guangzhou 1", "territory", "NAT/R-S/D-GZ/T-GZ1", "R-S", "D-GZ", "D-GZ", 3),
]

# (territory, target, covered) for P1 in 2026-10; P2 has half of each, 2026-09 is a bit lower
COVERAGE_P1_OCT = {
    "T-SH1": (10, 8), "T-SH2": (10, 5), "T-GZ1": (8, 6),
    "D-SH": (20, 13), "D-GZ": (8, 6), "R-E": (20, 13), "R-S": (8, 6), "NAT": (28, 19),
}
# (territory, target_amount, actual_amount) for P1 in 2026-10
ACHIEVEMENT_P1_OCT = {
    "T-SH1": (100_000.0, 90_000.0), "T-SH2": (100_000.0, 110_000.0), "T-GZ1": (50_000.0, 40_000.0),
    "D-SH": (200_000.0, 200_000.0), "D-GZ": (50_000.0, 40_000.0),
    "R-E": (200_000.0, 200_000.0), "R-S": (50_000.0, 40_000.0), "NAT": (250_000.0, 240_000.0),
}


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def build_snapshot(path: Path, *, blocking_failure: bool = False) -> Path:
    """Write the snapshot DuckDB file at `path` (parents created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "audit", "quarantine", "matching"):
            con.execute(f"create schema {schema}")
        _marts(con)
        _audit(con, blocking_failure)
    finally:
        con.close()
    return path


def _marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""create table marts.dim_territory (territory_id varchar, name varchar,
        level varchar, territory_path varchar, region_id varchar, district_id varchar,
        parent_id varchar, depth integer)""")
    con.executemany("insert into marts.dim_territory values (?, ?, ?, ?, ?, ?, ?, ?)", TERRITORIES)

    con.execute("""create table marts.dim_product (product_id varchar, generic_name varchar,
        brand_name varchar, spec varchar, pack_size integer, is_own boolean,
        dosage_form varchar, case_size integer, list_price double, product_line varchar)""")
    con.execute("""insert into marts.dim_product values
        ('P1', '阿托伐他汀钙片', '康立宁', '20mg*7片', 7, true, '片剂', 400, 35.5, 'CV'),
        ('P2', '氨氯地平片', '安平', '5mg*28片', 28, true, '片剂', 200, 42.0, 'CV'),
        ('P9', '瑞舒伐他汀钙片', '竞品', '10mg*7片', 7, false, '片剂', null, null, null)""")

    con.execute("""create table marts.dim_distributor (distributor_code varchar, name varchar,
        tier integer, province varchar, flow_required boolean, city varchar, aliases varchar,
        region_id varchar, region_source varchar, given_region varchar)""")
    con.execute("""insert into marts.dim_distributor values
        ('D001', '上海医药分销', 1, '上海', true, '上海', '上药分销', 'R-E', 'derived', null),
        ('D002', '广州医药', 1, '广东', true, '广州', null, 'R-S', 'derived', null),
        ('D003', '南京医药', 2, '江苏', true, '南京', null, 'R-E', 'given', '华东大区 East')""")

    con.execute("""create table marts.bridge_customer_territory (crm_customer_id varchar,
        territory_id varchar, product_line varchar, valid_from date, valid_to date,
        products_named bigint)""")
    # line CV names P1 and P2 (dim_product.product_line)
    con.execute("""insert into marts.bridge_customer_territory values
        ('C1', 'T-SH1', 'CV', '2025-01-01', null, 2), ('C2', 'T-SH2', 'CV', '2025-01-01', null, 2),
        ('C3', 'T-GZ1', 'CV', '2025-01-01', null, 2)""")

    con.execute("""create table marts.fct_sell_out (sale_date date, month varchar,
        distributor_code varchar, buyer_kind varchar, crm_customer_id varchar,
        raw_buyer_name varchar, product_id varchar, qty_boxes double, amount double,
        territory_id varchar, source_file varchar, source_row integer, sell_out_line_id varchar,
        file_id bigint, sheet varchar, buyer_code varchar, buyer_distributor_code varchar,
        customer_match_status varchar, doc_type varchar, loaded_at timestamp)""")
    con.execute("""insert into marts.fct_sell_out values
        ('2026-10-02', '2026-10', 'D001', 'terminal', 'C1', '上海市第一人民医院', 'P1', 10, 1000,
         'T-SH1', 'flow/D001/2026-10.csv', 2, 'L-2-2', 2, null, 'B-01', null, 'matched', 'sale',
         '2026-11-05 09:10'),
        ('2026-10-31', '2026-10', 'D002', 'terminal', 'C3', '广州市人民医院', 'P1', 5, 500,
         'T-GZ1', 'flow/D002/2026-10.xlsx', 3, 'L-3-3', 3, 'Sheet1', 'GZ-9', null, 'matched',
         'sale', '2026-11-14 16:40')""")

    con.execute("""create table marts.kpi_coverage (month varchar, territory_id varchar,
        product_id varchar, target_customers bigint, covered_customers bigint,
        coverage_rate double)""")
    rows = []
    for terr, (target, covered) in COVERAGE_P1_OCT.items():
        rows.append(("2026-10", terr, "P1", target, covered, _rate(covered, target)))
        rows.append(("2026-10", terr, "P2", target // 2, covered // 2, _rate(covered // 2, target // 2)))
        rows.append(("2026-09", terr, "P1", target, covered - 1, _rate(covered - 1, target)))
    con.executemany("insert into marts.kpi_coverage values (?, ?, ?, ?, ?, ?)", rows)
    # over both products: customer × product pairs (October P1 + P2, September P1 only)
    con.execute("""create table marts.kpi_coverage_total (month varchar, territory_id varchar,
        target_pairs bigint, covered_pairs bigint, coverage_rate double, products bigint)""")
    totals = []
    for terr, (target, covered) in COVERAGE_P1_OCT.items():
        t_oct, c_oct = target + target // 2, covered + covered // 2
        totals.append(("2026-10", terr, t_oct, c_oct, _rate(c_oct, t_oct), 2))
        totals.append(("2026-09", terr, target, covered - 1, _rate(covered - 1, target), 1))
    con.executemany("insert into marts.kpi_coverage_total values (?, ?, ?, ?, ?, ?)", totals)
    # data starts in 2026-Q3: September's targets are 三甲/三乙, October's the Q3 grades
    con.execute("""create table marts.kpi_coverage_target_basis (month varchar,
        target_basis varchar, grade_quarter varchar, is_grading_start boolean)""")
    con.execute("""insert into marts.kpi_coverage_target_basis values
        ('2026-09', 'level', null, false), ('2026-10', 'grade', '2026-Q3', true)""")

    con.execute("""create table marts.kpi_target_achievement (month varchar, territory_id varchar,
        product_id varchar, target_amount double, actual_amount double, achievement_rate double,
        ytd_target_amount double, ytd_actual_amount double, ytd_achievement_rate double)""")
    rows = []
    for terr, (target, actual) in ACHIEVEMENT_P1_OCT.items():
        rows.append(("2026-10", terr, "P1", target, actual, _rate(actual, target),
                     target * 10, actual * 9, _rate(actual * 9, target * 10)))
        rows.append(("2026-09", terr, "P1", target, actual * 0.9, _rate(actual * 0.9, target),
                     target * 9, actual * 8.1, _rate(actual * 8.1, target * 9)))
    con.executemany("insert into marts.kpi_target_achievement values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows)
    # P1 is the only product with targets: the totals are P1's rows
    con.execute("create table marts.kpi_target_achievement_total as "
                "select * exclude (product_id) from marts.kpi_target_achievement")

    _call_activity(con)

    con.execute("""create table marts.kpi_activity_roi (activity_id varchar,
        crm_customer_id varchar, product_id varchar, cost double, pre_amount double,
        post_amount double, incremental_amount double, roi double, activity_type varchar,
        start_date date, end_date date, territory_id varchar, is_post_window_complete boolean)""")
    con.execute("""insert into marts.kpi_activity_roi values
        ('A1', 'C1', 'P1', 10000, 20000, 45000, 25000, 2.5, 'department_meeting', '2026-05-10',
         '2026-05-10', 'T-SH1', true),
        ('A2', 'C3', 'P1', 8000, 30000, 26000, -4000, -0.5, 'academic_meeting', '2026-06-01',
         '2026-06-02', 'T-GZ1', true)""")
    # rolled up by hand: A1 under T-SH1, A2 under T-GZ1, both under NAT (21,000 / 18,000)
    con.execute("""create table marts.kpi_activity_roi_territory (territory_id varchar,
        activities bigint, cost double, pre_amount double, post_amount double,
        incremental_amount double, roi double, activities_post_open bigint)""")
    a1, a2 = (1, 10000, 20000, 45000, 25000, 2.5, 0), (1, 8000, 30000, 26000, -4000, -0.5, 0)
    con.executemany("insert into marts.kpi_activity_roi_territory values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(t, *a1) for t in ("T-SH1", "D-SH", "R-E")]
                    + [(t, *a2) for t in ("T-GZ1", "D-GZ", "R-S")]
                    + [("NAT", 2, 18000, 50000, 71000, 21000, 21000 / 18000, 0)])

    con.execute("""create table marts.kpi_expense_ratio (month varchar, territory_id varchar,
        cost double, sell_out_amount double, expense_ratio double)""")
    con.execute("""insert into marts.kpi_expense_ratio values
        ('2026-10', 'T-SH1', 10000, 90000, 0.1111), ('2026-10', 'T-GZ1', 8000, 40000, 0.2)""")

    con.execute("""create table marts.kpi_channel_inventory (month varchar,
        distributor_code varchar, product_id varchar, opening_qty double, purchase_qty double,
        sales_qty double, computed_closing_qty double, reported_closing_qty double,
        variance_qty double, days_of_inventory double)""")
    con.execute("""insert into marts.kpi_channel_inventory values
        ('2026-10', 'D001', 'P1', 100, 50, 60, 90, 85, -5, 45.2),
        ('2026-10', 'D002', 'P1', 300, 200, 100, 400, null, null, 75.0),
        ('2026-10', 'D003', 'P1', 40, 0, null, null, null, null, null),
        ('2026-09', 'D001', 'P1', 90, 70, 60, 100, 100, 0, 50.0)""")
    # October: D002 over 60 days, D003 without flow, D001's -5 variance; closing 85 + 400 boxes
    con.execute("""create table marts.kpi_channel_inventory_month (month varchar,
        distributors bigint, distributors_over_doi bigint, distributors_without_flow bigint,
        distributor_products_with_variance bigint, closing_qty double, doi_threshold_days double)""")
    con.execute("""insert into marts.kpi_channel_inventory_month values
        ('2026-10', 3, 1, 1, 1, 485, 60), ('2026-09', 1, 0, 0, 0, 100, 60)""")

    _tenders(con)

    # one row per distributor and month (no totals); regions: D001, D003 → R-E, D002 → R-S
    con.execute("""create table marts.kpi_flow_completeness (month varchar,
        distributor_code varchar, expected bigint, received bigint,
        first_received_at timestamp, on_time bigint, rows bigint, matched_rows bigint,
        match_rate double, quarantined_rows bigint, received_rate double, on_time_rate double,
        terminal_qty_boxes double, matched_terminal_qty_boxes double)""")
    con.execute("""insert into marts.kpi_flow_completeness values
        ('2026-10', 'D001', 1, 1, '2026-11-05 09:00', 1, 1200, 1150, 0.96, 4, 1, 1, 1000, 960),
        ('2026-10', 'D002', 1, 1, '2026-11-14 16:30', 0, 800, 700, 0.88, 0, 1, 0, 500, 440),
        ('2026-10', 'D003', 1, 0, null, 0, 0, 0, null, 0, 0, 0, 0, 0),
        ('2026-09', 'D001', 1, 1, '2026-10-06 10:00', 1, 1100, 1050, 0.95, 2, 1, 1, 1000, 950)""")
    # the sums of those rows by region: October R-E 1 of 2 sent (on time), R-S 1 of 1 (late)
    con.execute("""create table marts.kpi_flow_completeness_region (month varchar,
        region_id varchar, expected bigint, received bigint, on_time bigint,
        completeness_rate double, on_time_rate double, match_rate double,
        terminal_qty_boxes double, matched_terminal_qty_boxes double)""")
    con.execute("""insert into marts.kpi_flow_completeness_region values
        ('2026-10', 'R-E', 2, 1, 1, 0.5, 0.5, 0.96, 1000, 960),
        ('2026-10', 'R-S', 1, 1, 0, 1.0, 0.0, 0.88, 500, 440),
        ('2026-09', 'R-E', 1, 1, 1, 1.0, 1.0, 0.95, 1000, 950)""")

    con.execute("""create table marts.map_customer_source (source varchar,
        distributor_code varchar, source_key varchar, raw_name varchar, crm_customer_id varchar,
        match_status varchar, match_method varchar, match_score double, buyer_code varchar,
        normalized_name varchar, buyer_kind varchar, buyer_distributor_code varchar)""")
    con.execute("""insert into marts.map_customer_source values
        ('flow', 'D001', 'B-77', '上海一院', null, 'review', 'fuzzy_name', 0.82, 'B-77',
         '上海一院', 'terminal', null),
        ('flow', 'D002', 'B-9', '广州人民医院', null, 'review', 'fuzzy:name', 0.80, 'B-9',
         '广州人民医院', 'terminal', null),
        ('flow', 'D003', '鼓楼医院', '鼓楼医院', null, 'review', 'ambiguous', 0.75, '',
         '鼓楼医院', 'terminal', null),
        ('flow', 'D001', 'B-01', '上海市第一人民医院', 'C1', 'auto', 'exact_name', 1.0, 'B-01',
         '上海市第一人民医院', 'terminal', null)""")

    # the review queue's money at stake: 广州人民医院 12,000 > 上海一院 1,500 > 鼓楼医院 300,
    # the reverse of their match scores
    con.execute("""create table marts.map_customer_review (source varchar,
        distributor_code varchar, buyer_code varchar, raw_name varchar, match_score double,
        match_method varchar, flow_rows bigint, sell_out_amount double, last_sale_date date)""")
    con.execute("""insert into marts.map_customer_review values
        ('flow', 'D001', 'B-77', '上海一院', 0.82, 'fuzzy_name', 2, 1500, '2026-10-20'),
        ('flow', 'D002', 'B-9', '广州人民医院', 0.80, 'fuzzy:name', 3, 12000, '2026-10-28'),
        ('flow', 'D003', '', '鼓楼医院', 0.75, 'ambiguous', 1, 300, '2026-10-05')""")
    con.execute("""create table marts.dim_customer_address (crm_customer_id varchar,
        name varchar, province varchar, city varchar, district varchar, address varchar)""")
    con.execute("""insert into marts.dim_customer_address values
        ('C1', '上海市第一人民医院', '上海', '上海', '虹口区', '武进路85号'),
        ('C3', '广州市人民医院', '广东', '广州', '越秀区', '中山二路1号'),
        ('C4', '南京鼓楼医院', '江苏', '南京', '鼓楼区', '中山路321号'),
        ('C5', '鼓楼医院', '福建', '福州', '鼓楼区', '杨桥东路134号')""")

    con.execute("""create table matching.customer_source_map (source varchar,
        distributor_code varchar, buyer_code varchar, raw_name varchar, source_key varchar,
        normalized_name varchar, buyer_kind varchar, buyer_distributor_code varchar,
        crm_customer_id varchar, match_status varchar, match_method varchar,
        match_score double, evidence json, candidates json)""")
    con.execute("""insert into matching.customer_source_map values
        ('flow', 'D001', 'B-77', '上海一院', 'B-77', '上海一院', 'terminal', null, null, 'review',
         'fuzzy_name', 0.82, '{}',
         '[{"crm_customer_id": "C1", "name": "上海市第一人民医院", "city": "上海", "score": 0.82}]'),
        ('flow', 'D002', 'B-9', '广州人民医院', 'B-9', '广州人民医院', 'terminal', null, null,
         'review', 'fuzzy:name', 0.80,
         '{"key": "name", "name_sim": 0.8, "city": "agree", "margin": 0.3}',
         '[{"crm_customer_id": "C3", "name": "广州市人民医院", "city": "广州", "score": 0.80},
           {"crm_customer_id": "C1", "name": "上海市第一人民医院", "city": "上海", "score": 0.5}]'),
        ('flow', 'D003', '', '鼓楼医院', '鼓楼医院', '鼓楼医院', 'terminal', null, null, 'review',
         'ambiguous', 0.75, '{"key": "name", "name_sim": 1.0, "margin": 0.0}',
         '[{"crm_customer_id": "C4", "name": "南京鼓楼医院", "city": "南京", "score": 0.75},
           {"crm_customer_id": "C5", "name": "鼓楼医院", "city": "福州", "score": 0.75}]'),
        ('flow', 'D001', 'B-01', '上海市第一人民医院', 'B-01', '上海市第一人民医院', 'terminal', null,
         'C1', 'auto', 'exact_name', 1.0, '{}', '[]')""")

    con.execute("""create table marts.scorecard_weekly (week_start date, region_id varchar,
        sell_out_amount double, sell_out_amount_ly double, growth double,
        mtd_achievement_rate double, ytd_achievement_rate double, coverage_rate double,
        plan_adherence double, flow_completeness_rate double,
        distributors_over_doi_threshold bigint, data_status varchar, week_end date,
        as_of_month varchar)""")
    con.execute("""insert into marts.scorecard_weekly values
        ('2026-10-12', 'R-E', 1100000, 1000000, 0.10, 0.70, 0.88, 0.64, 0.50, 0.90, 1, 'passed',
         '2026-10-18', '2026-10'),
        ('2026-10-12', 'R-S', 400000, 420000, -0.047619, 0.60, 0.80, 0.74, 0.84, 0.50, 1, 'passed',
         '2026-10-18', '2026-10'),
        ('2026-10-19', 'R-E', 1234567, 1100000, 0.122334, 0.85, 0.90, 0.65, 0.51, 0.90, 1, 'passed',
         '2026-10-25', '2026-10'),
        ('2026-10-19', 'R-S', 456789, 500000, -0.086422, 0.62, 0.81, 0.75, 0.85, 0.50, 1, 'passed',
         '2026-10-25', '2026-10'),
        ('2026-10-26', 'R-E', 999999, 900000, 0.111110, 1.00, 0.90, 0.65, 0.52, 0.90, 1, 'passed',
         '2026-11-01', '2026-11'),
        ('2026-10-26', 'R-S', 300000, 350000, -0.142857, 0.80, 0.81, 0.75, 0.85, 0.50, 1, 'passed',
         '2026-11-01', '2026-11')""")
    # flow covers up to Sat 31 Oct: the week of 26 Oct has 6 of its 7 days
    con.execute("""create table marts.scorecard_weeks (week_start date, week_end date,
        days_with_data integer, is_complete_week boolean, data_last_day date)""")
    con.execute("""insert into marts.scorecard_weeks values
        ('2026-10-12', '2026-10-18', 7, true, '2026-10-31'),
        ('2026-10-19', '2026-10-25', 7, true, '2026-10-31'),
        ('2026-10-26', '2026-11-01', 6, false, '2026-10-31')""")


# kpi_call_activity: (month, rep, territory) → target, reached, calls, planned, calls on
# targets, adherent calls, reported on time; rates follow from these counts
CALLS = {
    ("2026-10", "REP1", "T-SH1"): (40, 30, 120, 150, 105, 108, 114),
    ("2026-10", "REP2", "T-SH2"): (50, 20, 60, 180, 50, 45, 48),
    ("2026-10", "REP3", "T-GZ1"): (30, 27, 90, 100, 81, 80, 90),
    ("2026-09", "REP1", "T-SH1"): (40, 28, 110, 150, 98, 102, 99),
}
# the same counts rolled up by hand to every level: (month, territory) → reps, then as above
CALLS_BY_TERRITORY = {
    ("2026-10", "T-SH1"): (1, 40, 30, 120, 150, 105, 108, 114),
    ("2026-10", "T-SH2"): (1, 50, 20, 60, 180, 50, 45, 48),
    ("2026-10", "D-SH"): (2, 90, 50, 180, 330, 155, 153, 162),
    ("2026-10", "R-E"): (2, 90, 50, 180, 330, 155, 153, 162),
    ("2026-10", "T-GZ1"): (1, 30, 27, 90, 100, 81, 80, 90),
    ("2026-10", "D-GZ"): (1, 30, 27, 90, 100, 81, 80, 90),
    ("2026-10", "R-S"): (1, 30, 27, 90, 100, 81, 80, 90),
    ("2026-10", "NAT"): (3, 120, 77, 270, 430, 236, 233, 252),
    ("2026-09", "T-SH1"): (1, 40, 28, 110, 150, 98, 102, 99),
    ("2026-09", "D-SH"): (1, 40, 28, 110, 150, 98, 102, 99),
    ("2026-09", "R-E"): (1, 40, 28, 110, 150, 98, 102, 99),
    ("2026-09", "NAT"): (1, 40, 28, 110, 150, 98, 102, 99),
}
# kpi_call_activity_grade, October: (rep, territory, customer grade) → target, reached,
# calls on those targets, planned, adherent; each rep's grades add up to CALLS
CALLS_BY_GRADE = {
    ("REP1", "T-SH1", "A"): (10, 10, 60, 80, 60), ("REP1", "T-SH1", "B"): (30, 20, 45, 70, 48),
    ("REP2", "T-SH2", "A"): (20, 15, 40, 160, 35), ("REP2", "T-SH2", "C"): (30, 5, 10, 20, 10),
    ("REP3", "T-GZ1", "A"): (30, 27, 81, 100, 80),
}
# rolled up by hand: (territory, grade) → reps, target, reached, calls, planned, adherent
CALLS_BY_GRADE_TERRITORY = {
    ("T-SH1", "A"): (1, 10, 10, 60, 80, 60), ("T-SH1", "B"): (1, 30, 20, 45, 70, 48),
    ("T-SH2", "A"): (1, 20, 15, 40, 160, 35), ("T-SH2", "C"): (1, 30, 5, 10, 20, 10),
    ("D-SH", "A"): (2, 30, 25, 100, 240, 95), ("D-SH", "B"): (1, 30, 20, 45, 70, 48),
    ("D-SH", "C"): (1, 30, 5, 10, 20, 10),
    ("R-E", "A"): (2, 30, 25, 100, 240, 95), ("R-E", "B"): (1, 30, 20, 45, 70, 48),
    ("R-E", "C"): (1, 30, 5, 10, 20, 10),
    ("T-GZ1", "A"): (1, 30, 27, 81, 100, 80), ("D-GZ", "A"): (1, 30, 27, 81, 100, 80),
    ("R-S", "A"): (1, 30, 27, 81, 100, 80),
    ("NAT", "A"): (3, 60, 52, 181, 340, 175), ("NAT", "B"): (1, 30, 20, 45, 70, 48),
    ("NAT", "C"): (1, 30, 5, 10, 20, 10),
}


def _tenders(con: duckdb.DuckDBPyConnection) -> None:
    """广东: 20mg won at 18 (lowest winner 16, list 25 → 72 %), 第九批 10mg lost (no own
    product of that spec: no list price); 江苏: one line, 2 bids, 1 win."""
    con.execute("""create table marts.kpi_tender (province varchar, batch varchar,
        generic_name varchar, spec varchar, bids bigint, wins bigint, win_rate double,
        own_win_price double, lowest_winning_price double, price_gap double,
        own_bid_price double, all_bids bigint, is_volume_based boolean)""")
    con.execute("""insert into marts.kpi_tender values
        ('广东', '', '阿托伐他汀钙片', '20mg*7片', 1, 1, 1.0, 18.0, 16.0, 2.0, 18.0, 4, true),
        ('广东', '第九批', '阿托伐他汀钙片', '10mg*7片', 3, 0, 0.0, null, 9.0, 1.5, 10.5, 6, true),
        ('江苏', '', '氨氯地平片', '5mg*28片', 2, 1, 0.5, 30.0, 30.0, 0.0, 30.0, 3, false)""")
    con.execute("""create table marts.kpi_tender_price (province varchar, batch varchar,
        generic_name varchar, spec varchar, product_id varchar, list_price double,
        own_win_price double, own_bid_price double, lowest_winning_price double,
        own_win_price_to_list double, lowest_winning_price_to_list double)""")
    con.execute("""insert into marts.kpi_tender_price values
        ('广东', '', '阿托伐他汀钙片', '20mg*7片', 'P1', 25.0, 18.0, 18.0, 16.0, 0.72, 0.64),
        ('广东', '第九批', '阿托伐他汀钙片', '10mg*7片', null, null, null, 10.5, 9.0, null, null),
        ('江苏', '', '氨氯地平片', '5mg*28片', 'P2', 40.0, 30.0, 30.0, 30.0, 0.75, 0.75)""")
    con.execute("""create table marts.kpi_tender_province (province varchar,
        tender_lines bigint, bids bigint, wins bigint, win_rate double, lines_won bigint)""")
    con.execute("""insert into marts.kpi_tender_province values
        ('广东', 2, 4, 1, 0.25, 1), ('江苏', 1, 2, 1, 0.5, 1)""")


def _call_activity(con: duckdb.DuckDBPyConnection) -> None:
    # REP3 has no name in the master: the page falls back to the bare id
    con.execute("create table marts.dim_rep (rep_id varchar, rep_name varchar)")
    con.execute("insert into marts.dim_rep values ('REP1', '王芳'), ('REP2', '李强'), "
                "('REP3', null)")
    con.execute("""create table marts.kpi_call_activity (month varchar, rep_id varchar,
        territory_id varchar, target_hcps bigint, reached_hcps bigint, calls bigint,
        planned_calls bigint, reach_rate double, frequency double, plan_adherence double,
        report_on_time_rate double, calls_on_targets bigint, adherent_calls bigint,
        calls_reported_on_time bigint)""")
    con.executemany("insert into marts.kpi_call_activity values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (*key, t, r, c, p, _rate(r, t), _rate(on, r), _rate(adh, p), _rate(ok, c), on, adh, ok)
        for key, (t, r, c, p, on, adh, ok) in CALLS.items()])
    con.execute("""create table marts.kpi_call_activity_territory (month varchar,
        territory_id varchar, reps bigint, target_hcps bigint, reached_hcps bigint, calls bigint,
        planned_calls bigint, reach_rate double, frequency double, plan_adherence double,
        report_on_time_rate double)""")
    con.executemany("insert into marts.kpi_call_activity_territory values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (*key, n, t, r, c, p, _rate(r, t), _rate(on, r), _rate(adh, p), _rate(ok, c))
        for key, (n, t, r, c, p, on, adh, ok) in CALLS_BY_TERRITORY.items()])
    con.execute("""create table marts.kpi_call_activity_grade (month varchar, rep_id varchar,
        territory_id varchar, grade varchar, target_hcps bigint, reached_hcps bigint,
        calls bigint, planned_calls bigint, reach_rate double, frequency double,
        plan_adherence double, adherent_calls bigint, grade_quarter varchar)""")
    con.executemany("insert into marts.kpi_call_activity_grade values "
                    "('2026-10', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-Q3')", [
        (*key, t, r, c, p, _rate(r, t), _rate(c, r), _rate(adh, p), adh)
        for key, (t, r, c, p, adh) in CALLS_BY_GRADE.items()])
    con.execute("""create table marts.kpi_call_activity_grade_territory (month varchar,
        territory_id varchar, grade varchar, reps bigint, target_hcps bigint,
        reached_hcps bigint, calls bigint, planned_calls bigint, reach_rate double,
        frequency double, plan_adherence double)""")
    con.executemany("insert into marts.kpi_call_activity_grade_territory values "
                    "('2026-10', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (*key, n, t, r, c, p, _rate(r, t), _rate(c, r), _rate(adh, p))
        for key, (n, t, r, c, p, adh) in CALLS_BY_GRADE_TERRITORY.items()])


def _audit(con: duckdb.DuckDBPyConnection, blocking_failure: bool) -> None:
    con.execute("""create table audit.publish_info (snapshot_id varchar, published_at timestamp,
        run_id varchar, gate_status varchar, as_of_date varchar, as_of_month varchar,
        warnings integer, source_db varchar)""")
    info_columns = "(snapshot_id, published_at, run_id, gate_status, as_of_month)"
    con.execute(f"insert into audit.publish_info {info_columns} values "
                "('snap-20261025', '2026-10-25 08:00', 'run-1', 'passed', '2026-09')")
    # ids as `sfe publish` writes them (the short ones above fit any column): the oldest row
    con.execute("insert into audit.publish_info values ('20260930T190137261549Z', "
                "'2026-09-30 19:01:37.261549', 'run-20260930T190100-db781b', 'passed', "
                "'2026-08-31', '2026-08', 4, '/srv/sfe/warehouse/working.duckdb')")
    con.execute(f"insert into audit.publish_info {info_columns} values "
                "(?, '2026-11-02 08:00', 'run-2', ?, '2026-10')",
                ["snap-20261102", "failed" if blocking_failure else "passed"])

    con.execute("""create table audit.gate_results (run_id varchar, check_name varchar,
        severity varchar, status varchar, failing_rows bigint, message varchar, sample json,
        checked_at timestamp, check_type varchar, description varchar, seconds double)""")
    gate_columns = ("run_id, check_name, severity, status, failing_rows, message, sample, "
                    "checked_at")
    # check statuses as quality.checks writes them: pass | fail | error | skipped
    match_status = "fail" if blocking_failure else "pass"
    match_rows = 412 if blocking_failure else 0
    match_msg = ("customer match rate 71% is below the 85% minimum"
                 if blocking_failure else "customer match rate 93%")
    con.execute(f"insert into audit.gate_results ({gate_columns}) " + """values
        ('run-1', 'flow_completeness', 'blocking', 'pass', 0, 'all expected flow received', null,
         '2026-10-25 07:50'),
        ('run-1', 'customer_match_rate', 'blocking', 'pass', 0, 'customer match rate 92%', null,
         '2026-10-25 07:50'),
        ('run-2', 'flow_completeness', 'blocking', 'pass', 0, '2 of 3 distributors on time', null,
         '2026-11-02 07:50'),
        ('run-2', 'inventory_variance', 'warning', 'fail', 3,
         '3 distributor-months with variance above 10%', '[{"distributor_code": "D001"}]',
         '2026-11-02 07:50')""")
    con.execute(f"insert into audit.gate_results ({gate_columns}) values ('run-2', "
                "'customer_match_rate', 'blocking', ?, ?, ?, null, '2026-11-02 07:50')",
                [match_status, match_rows, match_msg])
    con.execute("update audit.gate_results set check_type = 'sql', seconds = 0.2, "
                "description = replace(check_name, '_', ' ')")

    con.execute("""create table audit.file_registry (file_id bigint, path varchar, sha256 varchar,
        source varchar, entity varchar, distributor_code varchar, period_start date,
        period_end date, received_at timestamp, loaded_at timestamp, status varchar,
        rows_read integer, rows_loaded integer, rows_quarantined integer, reasons varchar[],
        duplicate_of bigint, superseded_by bigint, conflict_with bigint, run_id varchar,
        first_seen_at timestamp)""")
    registry_columns = ("file_id, path, sha256, source, entity, distributor_code, period_start, "
                        "period_end, received_at, loaded_at, status, rows_read, rows_loaded, "
                        "rows_quarantined, reasons, duplicate_of, superseded_by, conflict_with, "
                        "run_id")
    con.execute(f"""insert into audit.file_registry ({registry_columns}) values
        (1, 'master/customers_2026-10-31.csv', 'aa', 'master', 'customers', null, null, null,
         '2026-11-01 08:00', '2026-11-02 07:00', 'loaded', 600, 600, 0, [], null, null, null, 'run-2'),
        (2, 'flow/D001/D001_2026-10.csv', 'bb', 'flow', null, 'D001', '2026-10-01', '2026-10-31',
         '2026-11-05 09:00', '2026-11-05 09:10', 'partial', 1204, 1200, 4,
         ['4 rows with an unparseable sale date'], null, null, null, 'run-2'),
        (3, 'flow/D002/广州医药10月流向.xlsx', 'cc', 'flow', null, 'D002', '2026-10-01',
         '2026-10-31', '2026-11-14 16:30', '2026-11-14 16:40', 'loaded', 800, 800, 0, [], null,
         null, null, 'run-2'),
        (4, 'flow/D003/南京10月.xls', 'dd', 'flow', null, 'D003', null, null,
         '2026-11-15 10:00', '2026-11-15 10:01', 'rejected', 0, 0, 0,
         ['no recognisable header row: expected columns like 销售日期, 客户名称, 数量'], null,
         null, null, 'run-2'),
        (5, 'flow/D001/D001_2026-10 (1).csv', 'bb', 'flow', null, 'D001', '2026-10-01',
         '2026-10-31', '2026-11-05 09:05', '2026-11-05 09:10', 'duplicate', 0, 0, 0,
         ['same content as file 2'], 2, null, null, 'run-2'),
        (6, 'flow/D004/far_cell.xlsx', 'ee', 'flow', null, 'D004', null, null,
         '2026-11-16 10:00', '2026-11-16 10:01', 'rejected', 0, 0, 0,
         ['has a sheet (sheet1.xml) that declares 1,048,576 rows × 16,384 columns',
          'acknowledged (ignore) by 王芳: sender re-sent it as CSV'], null, null, null, 'run-2')""")
    con.execute("update audit.file_registry set first_seen_at = received_at")
    con.execute("""create table audit.inbox_skipped (path varchar, reason varchar,
        run_id varchar, seen_at timestamp)""")
    con.execute("""insert into audit.inbox_skipped values
        ('flow/D001/~$D001_2026-10.xlsx', 'an Excel lock file (someone has the workbook open)',
         'run-2', '2026-11-16 10:01')""")

    con.execute("""create table quarantine.rows (file_id bigint, source varchar,
        distributor_code varchar, source_row integer, sheet varchar, reason varchar,
        column_name varchar, raw_values json, quarantined_at timestamp)""")
    con.execute("""insert into quarantine.rows values
        (2, 'flow', 'D001', 17, null, 'unparseable date', 'sale_date', '{"销售日期": "2026-13-01"}',
         '2026-11-05 09:10'),
        (2, 'flow', 'D001', 18, null, 'unparseable date', 'sale_date', '{"销售日期": "abc"}',
         '2026-11-05 09:10'),
        (2, 'flow', 'D001', 19, null, 'unparseable date', 'sale_date', '{"销售日期": ""}',
         '2026-11-05 09:10'),
        (2, 'flow', 'D001', 20, null, 'unparseable date', 'sale_date', '{"销售日期": "31/02"}',
         '2026-11-05 09:10')""")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
    print(build_snapshot(out / "published" / "current.duckdb",
                         blocking_failure="--fail" in sys.argv))
