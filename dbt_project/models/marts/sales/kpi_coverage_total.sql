-- one row per month and territory (every level): kpi_coverage over all own products, i.e.
-- customer × product pairs (a customer targeted for two products counts twice)
with coverage as (
    select * from {{ ref('kpi_coverage') }}
),

summed as (
    select
        month,
        territory_id,
        sum(target_customers) as target_pairs,
        sum(covered_customers) as covered_pairs,
        count(*) as products
    from coverage
    group by month, territory_id
),

final as (
    select
        month,
        territory_id,
        cast(target_pairs as bigint) as target_pairs,
        cast(covered_pairs as bigint) as covered_pairs,
        {{ safe_divide('covered_pairs', 'target_pairs') }} as coverage_rate,
        cast(products as bigint) as products
    from summed
)

select * from final
