-- one row per day from 1 January of the first year with data to 31 December of the last
with bounds as (
    select
        min(first_date) as first_date,
        max(last_date) as last_date
    from (
        select min(sale_date) as first_date, max(sale_date) as last_date
        from {{ ref('stg_flow__lines') }}
        union all
        select min(ship_date), max(ship_date) from {{ ref('stg_sellin__shipments') }}
        union all
        select min(call_date), max(call_date) from {{ ref('stg_crm__calls') }}
        union all
        select min(snapshot_date), max(snapshot_date) from {{ ref('stg_inventory__lines') }}
        union all
        select min(start_date), max(end_date) from {{ ref('stg_marketing__activities') }}
    ) as per_source
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9
),

offsets as (
    select d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d as day_offset
    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5
),

year_bounds as (
    select
        {{ dbt.date_trunc('year', "coalesce(first_date, current_date)") }} as first_day,
        {{ dbt.last_day("coalesce(last_date, current_date)", 'year') }} as last_day
    from bounds
),

days as (
    select cast({{ dbt.dateadd('day', 'offsets.day_offset', 'year_bounds.first_day') }} as date) as date_day
    from offsets
    cross join year_bounds
    where offsets.day_offset <= {{ dbt.datediff('year_bounds.first_day', 'year_bounds.last_day', 'day') }}
),

final as (
    select
        date_day,
        {{ month_key('date_day') }} as month,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end,
        {{ quarter_key('date_day') }} as quarter,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
        cast({{ dbt.last_day('date_day', 'quarter') }} as date) as quarter_end,
        cast(extract(year from date_day) as integer) as year,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ dbt.datediff(dbt.date_trunc('week', 'date_day'), 'date_day', 'day') }} + 1 as integer)
            as iso_day_of_week
    from days
)

select * from final
