-- one row per week (starting Monday) and region: the scorecard's numbers. The week is read as
-- of its Sunday: MTD/YTD achievement, coverage and plan adherence for the Sunday's month; flow
-- completeness and days of inventory for the month before (the last one whose flow is due).
with week_regions as (
    select * from {{ ref('int_scorecard__week_regions') }}
),

sales as (
    select * from {{ ref('int_scorecard__sell_out_weeks') }}
),

targets as (
    select * from {{ ref('int_scorecard__achievement') }}
),

region_months as (
    select * from {{ ref('int_scorecard__region_months') }}
),

completeness as (
    select * from {{ ref('kpi_flow_completeness_region') }}
),

final as (
    select
        week_regions.week_start,
        week_regions.region_id,
        cast(coalesce(sales.sell_out_amount, 0) as double) as sell_out_amount,
        case when week_regions.has_last_year
            then cast(coalesce(sales.sell_out_amount_ly, 0) as double)
        end as sell_out_amount_ly,
        case when week_regions.has_last_year
            then {{ safe_divide('sales.sell_out_amount - sales.sell_out_amount_ly',
                                'sales.sell_out_amount_ly') }}
        end as growth,
        {{ safe_divide('sales.mtd_amount', 'targets.month_target') }} as mtd_achievement_rate,
        {{ safe_divide('sales.ytd_amount', 'targets.ytd_target') }} as ytd_achievement_rate,
        {{ safe_divide('this_month.covered_customers', 'this_month.target_customers') }}
            as coverage_rate,
        {{ safe_divide('this_month.adherent_calls', 'this_month.planned_calls') }}
            as plan_adherence,
        completeness.completeness_rate as flow_completeness_rate,
        cast(coalesce(month_before.distributors_over_doi_threshold, 0) as bigint)
            as distributors_over_doi_threshold,
        week_regions.week_end,
        week_regions.as_of_month
    from week_regions
    left join sales
        on week_regions.week_start = sales.week_start
        and week_regions.region_id = sales.region_id
    left join targets
        on week_regions.week_start = targets.week_start
        and week_regions.region_id = targets.region_id
    left join region_months as this_month
        on week_regions.as_of_month = this_month.month
        and week_regions.region_id = this_month.region_id
    left join completeness
        on week_regions.previous_month = completeness.month
        and week_regions.region_id = completeness.region_id
    left join region_months as month_before
        on week_regions.previous_month = month_before.month
        and week_regions.region_id = month_before.region_id
)

select * from final
