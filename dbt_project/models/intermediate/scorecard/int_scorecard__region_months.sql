-- one row per month and region with any of: coverage counts, calls against plan, distributors
-- serving the region above the days-of-inventory threshold
with ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

region_coverage as (
    select
        month,
        territory_id as region_id,
        sum(covered_customers) as covered_customers,
        sum(target_customers) as target_customers
    from {{ ref('kpi_coverage') }}
    group by month, territory_id
),

region_calls as (
    select
        call_activity.month,
        ancestors.ancestor_territory_id as region_id,
        sum(call_activity.adherent_calls) as adherent_calls,
        sum(call_activity.planned_calls) as planned_calls
    from {{ ref('kpi_call_activity') }} as call_activity
    inner join ancestors on call_activity.territory_id = ancestors.territory_id
    group by call_activity.month, ancestors.ancestor_territory_id
),

region_distributors as (
    select distinct region_id, distributor_code from {{ ref('int_scorecard__sell_out_daily') }}
),

overstocked as (
    select
        inventory.month,
        region_distributors.region_id,
        count(distinct inventory.distributor_code) as distributors
    from {{ ref('kpi_channel_inventory') }} as inventory
    inner join region_distributors
        on inventory.distributor_code = region_distributors.distributor_code
    where inventory.days_of_inventory > {{ var('doi_threshold_days') }}
    group by inventory.month, region_distributors.region_id
),

keys as (
    select month, region_id from region_coverage
    union
    select month, region_id from region_calls
    union
    select month, region_id from overstocked
),

final as (
    select
        keys.month,
        keys.region_id,
        region_coverage.covered_customers,
        region_coverage.target_customers,
        region_calls.adherent_calls,
        region_calls.planned_calls,
        overstocked.distributors as distributors_over_doi_threshold
    from keys
    left join region_coverage
        on keys.month = region_coverage.month and keys.region_id = region_coverage.region_id
    left join region_calls
        on keys.month = region_calls.month and keys.region_id = region_calls.region_id
    left join overstocked
        on keys.month = overstocked.month and keys.region_id = overstocked.region_id
)

select * from final
