-- one row per scorecard week (starting Monday) and region, with the dates the week is read
-- as of: its Sunday, that month, the month before and the year's first day
with days as (
    select * from {{ ref('int_dates_spined') }}
),

months as (
    select * from {{ ref('int_months_with_data') }}
),

regions as (
    select territory_id as region_id
    from {{ ref('stg_master__territories') }}
    where territory_level = 'region'
),

weeks as (
    select distinct
        days.week_start,
        cast({{ dbt.dateadd('day', 6, 'days.week_start') }} as date) as week_end,
        -- last year's week lies inside the data: else its sell-out is unknown (NULL), not 0
        {{ dbt.dateadd('day', -364, 'days.week_start') }} >= bounds.first_day as has_last_year
    from days
    cross join (select min(month_start) as first_day, max(month_end) as last_day from months) as bounds
    where days.date_day between bounds.first_day and bounds.last_day
),

week_regions as (
    select
        weeks.week_start,
        weeks.has_last_year,
        weeks.week_end,
        {{ month_key('weeks.week_end') }} as as_of_month,
        cast({{ dbt.date_trunc('month', 'weeks.week_end') }} as date) as as_of_month_start,
        {{ month_key(dbt.dateadd('month', -1, dbt.date_trunc('month', 'weeks.week_end'))) }}
            as previous_month,
        cast({{ dbt.date_trunc('year', 'weeks.week_end') }} as date) as as_of_year_start,
        regions.region_id
    from weeks
    cross join regions
)

select * from week_regions
