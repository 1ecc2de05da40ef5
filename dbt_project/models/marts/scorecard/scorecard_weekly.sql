-- one row per week (starting Monday) and region: the executive scorecard. The week is read as
-- of its Sunday: MTD/YTD achievement, coverage and plan adherence for the Sunday's month; flow
-- completeness and days of inventory for the month before (the last one whose flow is due).
-- data_status is 'unchecked' here; the quality gate step (quality/) sets it.
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

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

own_products as (
    select product_id from {{ ref('stg_master__products') }}
    where is_own
),

achievement as (
    select * from {{ ref('kpi_target_achievement') }}
),

coverage as (
    select * from {{ ref('kpi_coverage') }}
),

call_activity as (
    select * from {{ ref('kpi_call_activity') }}
),

completeness as (
    select * from {{ ref('kpi_flow_completeness_region') }}
),

inventory as (
    select * from {{ ref('kpi_channel_inventory') }}
),

region_daily_sales as (
    select
        sell_out.sale_date,
        ancestors.ancestor_territory_id as region_id,
        sell_out.distributor_code,
        sum(sell_out.amount) as amount
    from {{ ref('fct_sell_out') }} as sell_out
    inner join own_products on sell_out.product_id = own_products.product_id
    inner join ancestors on sell_out.territory_id = ancestors.territory_id
    inner join regions on ancestors.ancestor_territory_id = regions.region_id
    where sell_out.buyer_kind = 'terminal'
        and sell_out.crm_customer_id is not null
    group by sell_out.sale_date, ancestors.ancestor_territory_id, sell_out.distributor_code
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
),

region_targets as (
    select month, territory_id as region_id, sum(target_amount) as target_amount
    from achievement
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
),

region_coverage as (
    select
        month,
        territory_id as region_id,
        sum(covered_customers) as covered_customers,
        sum(target_customers) as target_customers
    from coverage
    group by month, territory_id
),

region_calls as (
    select
        call_activity.month,
        ancestors.ancestor_territory_id as region_id,
        sum(call_activity.adherent_calls) as adherent_calls,
        sum(call_activity.planned_calls) as planned_calls
    from call_activity
    inner join ancestors on call_activity.territory_id = ancestors.territory_id
    group by call_activity.month, ancestors.ancestor_territory_id
),

region_distributors as (
    select distinct region_id, distributor_code from region_daily_sales
),

overstocked as (
    select
        inventory.month,
        region_distributors.region_id,
        count(distinct inventory.distributor_code) as distributors
    from inventory
    inner join region_distributors
        on inventory.distributor_code = region_distributors.distributor_code
    where inventory.days_of_inventory > {{ var('doi_threshold_days') }}
    group by inventory.month, region_distributors.region_id
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
        {{ safe_divide('region_coverage.covered_customers', 'region_coverage.target_customers') }}
            as coverage_rate,
        {{ safe_divide('region_calls.adherent_calls', 'region_calls.planned_calls') }}
            as plan_adherence,
        completeness.completeness_rate as flow_completeness_rate,
        cast(coalesce(overstocked.distributors, 0) as bigint) as distributors_over_doi_threshold,
        'unchecked' as data_status,
        week_regions.week_end,
        week_regions.as_of_month
    from week_regions
    left join sales
        on week_regions.week_start = sales.week_start
        and week_regions.region_id = sales.region_id
    left join targets
        on week_regions.week_start = targets.week_start
        and week_regions.region_id = targets.region_id
    left join region_coverage
        on week_regions.as_of_month = region_coverage.month
        and week_regions.region_id = region_coverage.region_id
    left join region_calls
        on week_regions.as_of_month = region_calls.month
        and week_regions.region_id = region_calls.region_id
    left join completeness
        on week_regions.previous_month = completeness.month
        and week_regions.region_id = completeness.region_id
    left join overstocked
        on week_regions.previous_month = overstocked.month
        and week_regions.region_id = overstocked.region_id
)

select * from final
