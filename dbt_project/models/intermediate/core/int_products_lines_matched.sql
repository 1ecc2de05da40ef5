-- one row per product and alignment product line that applies to it. Alignment files name a
-- product line ('all' when empty); a line applies to a product when it is 'all' or equals the
-- product's id, brand name or generic name. specificity 1 (named) beats 2 ('all').
with products as (
    select * from {{ ref('stg_master__products') }}
),

lines as (
    select distinct product_line from {{ ref('stg_master__customer_alignments') }}
),

final as (
    select
        products.product_id,
        lines.product_line,
        case when lower(lines.product_line) in ('all', '*') then 2 else 1 end as specificity
    from products
    inner join lines
        on lower(lines.product_line) in ('all', '*')
        or lines.product_line = products.product_id
        or lines.product_line = products.brand_name
        or lines.product_line = products.generic_name
)

select * from final
