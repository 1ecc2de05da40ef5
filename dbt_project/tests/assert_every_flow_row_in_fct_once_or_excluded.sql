-- Every flow row loaded into raw is either in fct_sell_out exactly once or explained in
-- int_sell_out_lines_excluded (with a reason), never both, never neither. A row keeps its
-- month, and a changed file changes the months of both its versions, so on a build with
-- kpi_changed_months only those months (and rows without a sale date) are read.
with raw_rows as (
    select
        {{ dbt.concat([
            dbt.cast("file_id", dbt.type_string()), "'-'",
            "coalesce(sheet, '')", "'-'",
            dbt.cast("source_row", dbt.type_string())
        ]) }} as sell_out_line_id
    from {{ ref('stg_flow__lines') }}
    -- the date range beside the month label prunes the scan of raw (zone maps)
    where (sale_date is null or {{ changed_months_date_where('sale_date') }})
        and (sale_date is null or {{ changed_months_test_where(month_key('sale_date')) }})
),

in_fct as (
    select sell_out_line_id, count(*) as n from {{ ref('fct_sell_out') }}
    where {{ changed_months_test_where('month') }}
        and {{ changed_months_date_where('sale_date') }}
    group by sell_out_line_id
),

in_excluded as (
    select sell_out_line_id, count(*) as n from {{ ref('int_sell_out_lines_excluded') }}
    where (sale_date is null or {{ changed_months_date_where('sale_date') }})
        and (month is null or {{ changed_months_test_where('month') }})
    group by sell_out_line_id
),

accounted as (
    select
        raw_rows.sell_out_line_id,
        coalesce(in_fct.n, 0) as fct_rows,
        coalesce(in_excluded.n, 0) as excluded_rows
    from raw_rows
    left join in_fct on raw_rows.sell_out_line_id = in_fct.sell_out_line_id
    left join in_excluded on raw_rows.sell_out_line_id = in_excluded.sell_out_line_id
)

select * from accounted
where fct_rows + excluded_rows <> 1
union all
-- and nothing in the fact that is not in raw any more (a superseded file left behind)
select in_fct.sell_out_line_id, in_fct.n, 0
from in_fct
left join raw_rows on in_fct.sell_out_line_id = raw_rows.sell_out_line_id
where raw_rows.sell_out_line_id is null
