-- one row per kpi_tender row (province, batch, generic name, spec): the company's prices
-- against the list price of its own product of that generic name and spec (bid prices are per
-- box, as the list price); list_price is NULL when no own product has that exact spec
with tenders as (
    select * from {{ ref('kpi_tender') }}
),

own_products as (
    select
        generic_name,
        spec,
        min(product_id) as product_id,
        min(list_price) as list_price
    from {{ ref('stg_master__products') }}
    where is_own
    group by generic_name, spec
),

final as (
    select
        tenders.province,
        tenders.batch,
        tenders.generic_name,
        tenders.spec,
        own_products.product_id,
        cast(own_products.list_price as double) as list_price,
        tenders.own_win_price,
        tenders.own_bid_price,
        tenders.lowest_winning_price,
        {{ safe_divide('tenders.own_win_price', 'own_products.list_price') }}
            as own_win_price_to_list,
        {{ safe_divide('tenders.lowest_winning_price', 'own_products.list_price') }}
            as lowest_winning_price_to_list
    from tenders
    left join own_products
        on tenders.generic_name = own_products.generic_name
        and tenders.spec = own_products.spec
)

select * from final
