-- one row per distributor and month saying whether it sent flow (a loaded or partial flow file
-- whose period touches the month) and whether it sent a stock report dated in the month
with files as (
    select * from {{ ref('stg_audit__file_registry') }}
    where file_status in ('loaded', 'partial')
),

months as (
    select * from {{ ref('int_months_with_data') }}
),

flow_months as (
    select
        files.distributor_code,
        months.month,
        min(files.received_at) as first_received_at,
        count(*) as flow_files
    from files
    inner join months
        on files.period_start <= months.month_end
        and files.period_end >= months.month_start
    where files.source_system = 'flow'
    group by files.distributor_code, months.month
),

stock_months as (
    select distinct distributor_code, month
    from {{ ref('int_inventory_lines_converted') }}
),

final as (
    select
        coalesce(flow_months.distributor_code, stock_months.distributor_code) as distributor_code,
        coalesce(flow_months.month, stock_months.month) as month,
        flow_months.distributor_code is not null as has_flow,
        flow_months.first_received_at,
        stock_months.distributor_code is not null as has_stock_report
    from flow_months
    full outer join stock_months
        on flow_months.distributor_code = stock_months.distributor_code
        and flow_months.month = stock_months.month
)

select * from final
