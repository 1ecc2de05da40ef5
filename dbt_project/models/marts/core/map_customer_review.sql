-- one row per raw buyer name waiting for a steward (match_status 'review', terminal buyers):
-- the net sell-out booked to it while unmatched, so the review queue starts with the names
-- that hold the most money
with source_map as (
    select * from {{ ref('stg_matching__customer_source_maps') }}
    where match_status = 'review'
        and buyer_kind = 'terminal'
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where crm_customer_id is null
        and buyer_kind = 'terminal'
),

at_stake as (
    select
        distributor_code,
        {{ buyer_key('buyer_code') }} as buyer_code,
        raw_buyer_name,
        count(*) as flow_rows,
        sum(amount) as sell_out_amount,
        max(sale_date) as last_sale_date
    from sell_out
    group by distributor_code, {{ buyer_key('buyer_code') }}, raw_buyer_name
),

final as (
    select
        source_map.source_system as source,
        source_map.distributor_code,
        source_map.buyer_code,
        source_map.raw_name,
        source_map.match_score,
        source_map.match_method,
        cast(coalesce(at_stake.flow_rows, 0) as bigint) as flow_rows,
        cast(coalesce(at_stake.sell_out_amount, 0) as double) as sell_out_amount,
        at_stake.last_sale_date
    from source_map
    left join at_stake
        on source_map.source_system = 'flow'
        and source_map.distributor_code = at_stake.distributor_code
        and source_map.buyer_code = at_stake.buyer_code
        and source_map.raw_name = at_stake.raw_buyer_name
)

select * from final
