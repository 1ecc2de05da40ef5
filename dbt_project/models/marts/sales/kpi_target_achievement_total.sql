-- one row per month and territory (every level): kpi_target_achievement over all own
-- products, amounts summed and the rates taken from the sums
with achievement as (
    select * from {{ ref('kpi_target_achievement') }}
),

summed as (
    select
        month,
        territory_id,
        sum(target_amount) as target_amount,
        sum(actual_amount) as actual_amount,
        sum(ytd_target_amount) as ytd_target_amount,
        sum(ytd_actual_amount) as ytd_actual_amount
    from achievement
    group by month, territory_id
),

final as (
    select
        month,
        territory_id,
        cast(target_amount as double) as target_amount,
        cast(actual_amount as double) as actual_amount,
        {{ safe_divide('actual_amount', 'target_amount') }} as achievement_rate,
        cast(ytd_target_amount as double) as ytd_target_amount,
        cast(ytd_actual_amount as double) as ytd_actual_amount,
        {{ safe_divide('ytd_actual_amount', 'ytd_target_amount') }} as ytd_achievement_rate
    from summed
)

select * from final
