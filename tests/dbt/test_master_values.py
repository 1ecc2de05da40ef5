"""Master values written the Chinese CRM way reach staging as the codes the marts expect.

The tiny fixture warehouse gets a newer snapshot of customers and HCPs as a customer's CRM
exports them (客户类型 医院/零售药店/社区卫生服务中心, 医院等级 三级甲等, 医生分级 A类); only the
master staging models are built (with their unit tests, models/staging/master/_master__models.yml,
and data tests). Expected values are written by hand.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from transform.build import BuildReport, build
from sfe.config import Settings, load_settings
from tests.dbt.fixture_warehouse import create_fixture

pytestmark = pytest.mark.xdist_group("dbt_master_values")

NEWER = dt.date(2026, 5, 31)
CUSTOMERS = [  # crm_customer_id, name, customer_type, level
    ("K1", "北京协和医院", "医院", "三级甲等"),
    ("K2", "和平民营医院", "民营医院", "二级乙等"),
    ("K3", "仁和大药房", "零售药店", ""),
    ("K4", "老百姓大药房连锁", "连锁药店", None),
    ("K5", "东华门社区卫生服务中心", "社区卫生服务中心", "一级"),
    ("K6", "马坡镇卫生院", "卫生院", "未定级"),
    ("K7", "国药控股北京有限公司", "商业公司", None),
    ("K8", "协和", "hospital", "三甲"),
    ("K9", "康养中心", "养老院", "二级甲等"),
]
HCPS = [("H1", "K1", "A类"), ("H2", "K1", "B级"), ("H3", "K2", "c"), ("H4", "K2", "D"),
        ("H5", "K2", "")]
STAGING = ["stg_master__customers", "stg_master__hcps", "stg_master__territories"]


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, BuildReport]:
    settings = load_settings(env={}, data_dir=tmp_path_factory.mktemp("master_values") / "data")
    create_fixture(settings.working_db)
    con = duckdb.connect(str(settings.working_db))
    try:
        con.executemany(
            "insert into raw.master__customers (file_id, source_row, snapshot_date, "
            "crm_customer_id, name, customer_type, level) values (99, ?, ?, ?, ?, ?, ?)",
            [(i + 2, NEWER, *row) for i, row in enumerate(CUSTOMERS)])
        con.executemany(
            "insert into raw.master__hcps (file_id, source_row, snapshot_date, hcp_id, "
            "crm_customer_id, name, grade) values (98, ?, ?, ?, ?, '医生', ?)",
            [(i + 2, NEWER, *row) for i, row in enumerate(HCPS)])
    finally:
        con.close()
    report = build(settings, select=STAGING)
    return settings, report


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_master_staging_unit_tests_pass_and_unknown_type_only_warns(staged):
    _, report = staged
    assert report.failures == [] and report.error is None, report.summary()
    assert report.tests.get("pass", 0) >= 3  # the three unit tests of _master__models.yml
    assert report.tests.get("warn") == 1, report.summary()  # 养老院: accepted_values, severity warn


def test_chinese_customer_type_and_level_become_canonical(staged):
    settings, _ = staged
    assert _rows(settings, "select crm_customer_id, customer_type, level "
                           "from staging.stg_master__customers order by 1") == [
        ("K1", "hospital", "三甲"),
        ("K2", "hospital", "二乙"),
        ("K3", "pharmacy", None),
        ("K4", "pharmacy", None),
        ("K5", "clinic", "一级"),
        ("K6", "clinic", "未定级"),
        ("K7", "distributor_outlet", None),
        ("K8", "hospital", "三甲"),
        ("K9", "养老院", "二甲"),  # unknown type kept as written: visible, and the test warns
    ]


def test_chinese_hcp_grade_becomes_a_to_d(staged):
    settings, _ = staged
    assert _rows(settings, "select hcp_id, grade from staging.stg_master__hcps order by 1") == [
        ("H1", "A"), ("H2", "B"), ("H3", "C"), ("H4", "D"), ("H5", None)]


def test_canonical_fixture_territories_read_as_before(staged):
    settings, _ = staged
    assert _rows(settings, "select territory_id, territory_level "
                           "from staging.stg_master__territories order by 1") == [
        ("D1", "district"), ("N1", "nation"), ("R1", "region"), ("T1", "territory"),
        ("T2", "territory")]
