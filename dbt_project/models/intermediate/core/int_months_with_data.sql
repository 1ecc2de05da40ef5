-- one row per calendar month from the first to the last month with sell-out, sell-in, call
-- or stock data: the months every monthly KPI reports on
with dates as (
    select * from {{ ref('int_dates_spined') }}
),

bounds as (
    select min(d) as first_date, max(d) as last_date
    from (
        select min(sale_date) as d from {{ ref('stg_flow__lines') }}
        union all select max(sale_date) from {{ ref('stg_flow__lines') }}
        union all select min(ship_date) from {{ ref('stg_sellin__shipments') }}
        union all select max(ship_date) from {{ ref('stg_sellin__shipments') }}
        union all select min(call_date) from {{ ref('stg_crm__calls') }}
        union all select max(call_date) from {{ ref('stg_crm__calls') }}
        union all select min(snapshot_date) from {{ ref('stg_inventory__lines') }}
        union all select max(snapshot_date) from {{ ref('stg_inventory__lines') }}
    ) as per_source
),

months as (
    select
        dates.month,
        min(dates.month_start) as month_start,
        max(dates.date_day) as month_end,
        count(*) as days_in_month,
        min(dates.year) as year,
        min(dates.quarter) as quarter
    from dates
    cross join bounds
    where dates.date_day between {{ dbt.date_trunc('month', 'bounds.first_date') }}
        and bounds.last_date
        or dates.month = {{ month_key('bounds.last_date') }}
    group by dates.month
),

final as (
    select
        month,
        month_start,
        month_end,
        cast(days_in_month as integer) as days_in_month,
        year,
        quarter,
        cast(row_number() over (order by month) as integer) as month_index
    from months
)

select * from final
