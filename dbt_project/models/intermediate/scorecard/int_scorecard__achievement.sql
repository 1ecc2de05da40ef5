-- one row per scorecard week and region with a target: the target of the week's month and
-- the year's targets up to it (as of the week's Sunday)
with week_regions as (
    select * from {{ ref('int_scorecard__week_regions') }}
),

region_targets as (
    select month, territory_id as region_id, sum(target_amount) as target_amount
    from {{ ref('kpi_target_achievement') }}
    group by month, territory_id
),

targets as (
    select
        week_regions.week_start,
        week_regions.region_id,
        sum(case
            when region_targets.month = week_regions.as_of_month
                then region_targets.target_amount else 0
        end) as month_target,
        sum(region_targets.target_amount) as ytd_target
    from week_regions
    inner join region_targets
        on week_regions.region_id = region_targets.region_id
        and region_targets.month <= week_regions.as_of_month
        and region_targets.month >= {{ month_key('week_regions.as_of_year_start') }}
    group by week_regions.week_start, week_regions.region_id
)

select * from targets
