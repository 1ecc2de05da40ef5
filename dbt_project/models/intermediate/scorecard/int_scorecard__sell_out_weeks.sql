-- one row per scorecard week and region: the region's sell-out in the week, the same week 52
-- weeks earlier, month to date and year to date (all as of the week's Sunday)
with week_regions as (
    select * from {{ ref('int_scorecard__week_regions') }}
),

region_daily_sales as (
    select * from {{ ref('int_scorecard__sell_out_daily') }}
),

sales as (
    select
        week_regions.week_start,
        week_regions.region_id,
        sum(case
            when region_daily_sales.sale_date between week_regions.week_start
                and week_regions.week_end then region_daily_sales.amount else 0
        end) as sell_out_amount,
        sum(case
            when region_daily_sales.sale_date
                between {{ dbt.dateadd('day', -364, 'week_regions.week_start') }}
                and {{ dbt.dateadd('day', -364, 'week_regions.week_end') }}
                then region_daily_sales.amount else 0
        end) as sell_out_amount_ly,
        sum(case
            when region_daily_sales.sale_date between week_regions.as_of_month_start
                and week_regions.week_end then region_daily_sales.amount else 0
        end) as mtd_amount,
        sum(case
            when region_daily_sales.sale_date between week_regions.as_of_year_start
                and week_regions.week_end then region_daily_sales.amount else 0
        end) as ytd_amount
    from week_regions
    left join region_daily_sales
        on week_regions.region_id = region_daily_sales.region_id
        and region_daily_sales.sale_date
            between {{ dbt.dateadd('day', -364, 'week_regions.as_of_year_start') }}
            and week_regions.week_end
    group by week_regions.week_start, week_regions.region_id
)

select * from sales
