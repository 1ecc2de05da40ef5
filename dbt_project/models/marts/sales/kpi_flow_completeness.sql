{#- incremental by month: a month's rows read that month's flow reports, facts, excluded
    lines and quarantine only (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per month and distributor that had to send flow (or sent it anyway): was the flow
-- (流向) received, on time (first received by day var flow_on_time_day of the next month), and
-- how well matched. Totals by region are kpi_flow_completeness_region (one grain per table).
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_where('month') }}
),

distributors as (
    select * from {{ ref('stg_master__distributors') }}
),

reports as (
    select * from {{ ref('int_distributor_reports_monthly') }}
    where has_flow
        and {{ kpi_months_where('month') }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where {{ kpi_months_where('month') }}
),

excluded as (
    select * from {{ ref('int_sell_out_lines_excluded') }}
    where {{ kpi_months_where('month') }}
),

ingestion_quarantine as (
    select
        distributor_code,
        {{ month_key('period_start') }} as month,
        sum(rows_quarantined) as quarantined_rows
    from {{ ref('stg_audit__file_registry') }}
    where source_system = 'flow'
        and file_status in ('loaded', 'partial')
        and period_start is not null
        and {{ kpi_months_where(month_key('period_start')) }}
    group by distributor_code, {{ month_key('period_start') }}
),

scaffold as (
    select months.month, months.month_end, distributors.distributor_code
    from months
    cross join distributors
    where distributors.is_flow_required
    union
    select months.month, months.month_end, reports.distributor_code
    from months
    inner join reports on months.month = reports.month
),

line_counts as (
    select
        month,
        distributor_code,
        count(*) as fct_rows,
        sum(case
            when buyer_kind = 'terminal' and crm_customer_id is not null then 1 else 0
        end) as matched_rows,
        sum(case when buyer_kind = 'terminal' then abs(qty_boxes) else 0 end)
            as terminal_qty,
        sum(case
            when buyer_kind = 'terminal' and crm_customer_id is not null then abs(qty_boxes)
            else 0
        end) as matched_terminal_qty
    from sell_out
    group by month, distributor_code
),

excluded_counts as (
    select month, distributor_code, count(*) as excluded_rows
    from excluded
    group by month, distributor_code
),

per_distributor as (
    select
        scaffold.month,
        scaffold.distributor_code,
        case when distributors.is_flow_required then 1 else 0 end as expected,
        case when reports.distributor_code is not null then 1 else 0 end as received,
        reports.first_received_at,
        case
            when reports.first_received_at is not null
                and cast(reports.first_received_at as date)
                    <= {{ dbt.dateadd('day', var('flow_on_time_day'), 'scaffold.month_end') }}
                then 1
            else 0
        end as on_time,
        coalesce(line_counts.fct_rows, 0) + coalesce(excluded_counts.excluded_rows, 0) as rows,
        coalesce(line_counts.matched_rows, 0) as matched_rows,
        coalesce(line_counts.terminal_qty, 0) as terminal_qty,
        coalesce(line_counts.matched_terminal_qty, 0) as matched_terminal_qty,
        coalesce(excluded_counts.excluded_rows, 0)
            + coalesce(ingestion_quarantine.quarantined_rows, 0) as quarantined_rows
    from scaffold
    left join distributors on scaffold.distributor_code = distributors.distributor_code
    left join reports
        on scaffold.month = reports.month
        and scaffold.distributor_code = reports.distributor_code
    left join line_counts
        on scaffold.month = line_counts.month
        and scaffold.distributor_code = line_counts.distributor_code
    left join excluded_counts
        on scaffold.month = excluded_counts.month
        and scaffold.distributor_code = excluded_counts.distributor_code
    left join ingestion_quarantine
        on scaffold.month = ingestion_quarantine.month
        and scaffold.distributor_code = ingestion_quarantine.distributor_code
),

final as (
    select
        month,
        distributor_code,
        cast(expected as bigint) as expected,
        cast(received as bigint) as received,
        first_received_at,
        cast(on_time as bigint) as on_time,
        cast(rows as bigint) as rows,
        cast(matched_rows as bigint) as matched_rows,
        {{ safe_divide('matched_terminal_qty', 'terminal_qty') }} as match_rate,
        cast(quarantined_rows as bigint) as quarantined_rows,
        {{ safe_divide('received', 'expected') }} as received_rate,
        {{ safe_divide('on_time', 'expected') }} as on_time_rate,
        cast(terminal_qty as double) as terminal_qty_boxes,
        cast(matched_terminal_qty as double) as matched_terminal_qty_boxes
    from per_distributor
)

select * from final
