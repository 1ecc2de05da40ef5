-- one row per province, batch ('' = provincial tender), generic name and spec: the company's
-- own bids (bidder contains var company_name), wins and prices against the lowest winner.
-- price_gap = own price (winning price, else lowest own bid) - lowest winning price
with tender_results as (
    select * from {{ ref('stg_tenders__results') }}
),

results as (
    select
        tender_results.*,
        {{ contains_text('bidder', sql_literal(var('company_name'))) }} as is_own_bid,
        result = '中标' as is_win
    from tender_results
),

grouped as (
    select
        province,
        batch,
        generic_name,
        spec,
        sum(case when is_own_bid then 1 else 0 end) as bids,
        sum(case when is_own_bid and is_win then 1 else 0 end) as wins,
        min(case when is_own_bid and is_win then bid_price end) as own_win_price,
        min(case when is_own_bid then bid_price end) as own_bid_price,
        min(case when is_win then bid_price end) as lowest_winning_price,
        count(*) as all_bids,
        max(case when is_volume_based then 1 else 0 end) as volume_based_flag
    from results
    group by province, batch, generic_name, spec
),

final as (
    select
        province,
        batch,
        generic_name,
        spec,
        cast(bids as bigint) as bids,
        cast(wins as bigint) as wins,
        {{ safe_divide('wins', 'bids') }} as win_rate,
        cast(own_win_price as double) as own_win_price,
        cast(lowest_winning_price as double) as lowest_winning_price,
        cast(coalesce(own_win_price, own_bid_price) - lowest_winning_price as double) as price_gap,
        cast(own_bid_price as double) as own_bid_price,
        cast(all_bids as bigint) as all_bids,
        volume_based_flag = 1 as is_volume_based
    from grouped
)

select * from final
