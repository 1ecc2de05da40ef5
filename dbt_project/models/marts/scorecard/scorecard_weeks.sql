-- one row per scorecard week (Monday start): how many of its days the loaded flow covers, so
-- that trends mark a half week (the first or the last of the data) instead of showing a
-- collapse. Covered: from the first to the last day of net sell-out or of a loaded flow file's
-- period, whichever reaches further.
with scorecard as (
    select distinct week_start from {{ ref('scorecard_weekly') }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
),

flow_files as (
    select * from {{ ref('stg_audit__file_registry') }}
    where source_system = 'flow'
        and file_status in ('loaded', 'partial')
),

bounds as (
    select
        least(
            (select min(sale_date) from sell_out),
            (select min(period_start) from flow_files)
        ) as first_day,
        greatest(
            (select max(sale_date) from sell_out),
            (select max(period_end) from flow_files)
        ) as last_day
),

weeks as (
    select
        cast(scorecard.week_start as date) as week_start,
        cast({{ dbt.dateadd('day', 6, 'scorecard.week_start') }} as date) as week_end,
        bounds.first_day,
        bounds.last_day
    from scorecard
    cross join bounds
),

covered as (
    select
        weeks.*,
        greatest(weeks.week_start, weeks.first_day) as covered_from,
        least(weeks.week_end, weeks.last_day) as covered_to
    from weeks
),

final as (
    select
        week_start,
        week_end,
        cast(case
            when covered_to is null or covered_from is null or covered_to < covered_from then 0
            else {{ dbt.datediff('covered_from', 'covered_to', 'day') }} + 1
        end as integer) as days_with_data,
        coalesce(covered_from = week_start and covered_to = week_end, false)
            as is_complete_week,
        last_day as data_last_day
    from covered
)

select * from final
