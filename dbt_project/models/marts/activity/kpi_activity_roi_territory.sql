-- one row per territory (every level) with activities in it or below it: kpi_activity_roi
-- summed, roi = Σ incremental / Σ cost (not a mean of the activities' ROIs)
with roi as (
    select * from {{ ref('kpi_activity_roi') }}
    where territory_id is not null
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

summed as (
    select
        ancestors.ancestor_territory_id as territory_id,
        count(*) as activities,
        sum(roi.cost) as cost,
        sum(roi.pre_amount) as pre_amount,
        sum(roi.post_amount) as post_amount,
        sum(roi.incremental_amount) as incremental_amount,
        sum(case when roi.is_post_window_complete then 0 else 1 end) as activities_post_open
    from roi
    inner join ancestors on roi.territory_id = ancestors.territory_id
    group by ancestors.ancestor_territory_id
),

final as (
    select
        territory_id,
        cast(activities as bigint) as activities,
        cast(cost as double) as cost,
        cast(pre_amount as double) as pre_amount,
        cast(post_amount as double) as post_amount,
        cast(incremental_amount as double) as incremental_amount,
        {{ safe_divide('incremental_amount', 'cost') }} as roi,
        cast(activities_post_open as bigint) as activities_post_open
    from summed
)

select * from final
