-- one row per month and region: flow completeness (流向回收率) of the distributors that count in
-- the region (dim_distributor.region_id). Only counts are summed, so the nation's figures are
-- the sums of these rows' counts; no nation row here (one grain per table).
with completeness as (
    select * from {{ ref('kpi_flow_completeness') }}
),

distributors as (
    select * from {{ ref('dim_distributor') }}
    where region_id is not null
),

by_region as (
    select
        completeness.month,
        distributors.region_id,
        sum(completeness.expected) as expected,
        -- a distributor that need not send flow adds to the match rate, not to completeness
        sum(completeness.received * completeness.expected) as received,
        sum(completeness.on_time * completeness.expected) as on_time,
        sum(completeness.terminal_qty_boxes) as terminal_qty_boxes,
        sum(completeness.matched_terminal_qty_boxes) as matched_terminal_qty_boxes
    from completeness
    inner join distributors on completeness.distributor_code = distributors.distributor_code
    group by completeness.month, distributors.region_id
),

final as (
    select
        month,
        region_id,
        cast(expected as bigint) as expected,
        cast(received as bigint) as received,
        cast(on_time as bigint) as on_time,
        {{ safe_divide('received', 'expected') }} as completeness_rate,
        {{ safe_divide('on_time', 'expected') }} as on_time_rate,
        {{ safe_divide('matched_terminal_qty_boxes', 'terminal_qty_boxes') }} as match_rate,
        cast(terminal_qty_boxes as double) as terminal_qty_boxes,
        cast(matched_terminal_qty_boxes as double) as matched_terminal_qty_boxes
    from by_region
)

select * from final
