"""Quantities typed with their unit (20盒, 1,200 支, 3件): the number loads, the unit is used."""

from __future__ import annotations

from tests.ingestion.conftest import assert_conserved


def test_a_unit_glued_to_the_quantity_is_the_rows_unit(put, ingest, query):
    put("flow/D001/oct.csv", "\n".join([
        "销售日期,客户名称,品名,规格,数量,金额",
        "2026-10-03,北京协和医院,阿莫西林胶囊,0.25g*24,20盒,250",
        "2026-10-04,北京医院,阿莫西林胶囊,0.25g*24,\"1,200 支\",625",
        "2026-10-05,北京医院,阿莫西林胶囊,0.25g*24,3件,9000",
        "2026-10-06,北京医院,阿莫西林胶囊,0.25g*24,12 boxes,150",
        "2026-10-07,北京医院,阿莫西林胶囊,0.25g*24,7,87.5",
        "2026-10-08,北京医院,阿莫西林胶囊,0.25g*24,20打,250"]) + "\n")
    report = ingest()
    assert_conserved(report)
    f = report.files[0]
    assert (f.rows_loaded, f.rows_quarantined) == (5, 1), f.reasons
    assert query("select source_row, quantity, unit, raw_unit from raw.flow__lines "
                 "order by 1") == [
        (2, 20.0, "box", "盒"), (3, 1200.0, "min_unit", "支"), (4, 3.0, "case", "件"),
        (5, 12.0, "box", "boxes"), (6, 7.0, "box", None)]
    assert query("select source_row, column_name from quarantine.rows") == [(7, "数量")]


def test_a_glued_unit_that_contradicts_the_unit_column_is_quarantined(put, ingest, query):
    put("flow/D002/oct.csv", "\n".join([
        "销售日期,客户名称,品名,规格,数量,单位",
        "2026-10-03,北京协和医院,阿莫西林胶囊,0.25g*24,20盒,盒",
        "2026-10-04,北京医院,阿莫西林胶囊,0.25g*24,20盒,支"]) + "\n")
    f = ingest().files[0]
    assert (f.rows_loaded, f.rows_quarantined) == (1, 1), f.reasons
    assert query("select source_row, quantity, unit from raw.flow__lines") == [(2, 20.0, "box")]
    (reason,) = query("select reason from quarantine.rows where source_row = 3")[0]
    assert "'20盒'" in reason and "单位" in reason
