-- one row per product and alignment product line that applies to it (sources.md). A line
-- applies to a product when it names the product itself (its id, brand or generic name:
-- specificity 1), the product's line (the products' product_line column: 2) or every product
-- ('ALL': 3); compared on normalised keys, so 'ｃｖ' in the alignment names line 'CV'. The
-- lowest specificity wins when a customer has several rows that apply on a date.
with products as (
    select * from {{ ref('stg_master__products') }}
),

lines as (
    select distinct product_line from {{ ref('stg_master__customer_alignments') }}
),

keyed_products as (
    select
        product_id,
        {{ label_key('product_id') }} as id_key,
        {{ label_key('brand_name') }} as brand_key,
        {{ label_key('generic_name') }} as generic_key,
        {{ label_key('product_line') }} as line_key
    from products
),

keyed_lines as (
    select product_line, {{ label_key('product_line') }} as line_key
    from lines
),

final as (
    select
        keyed_products.product_id,
        keyed_lines.product_line,
        min(case
            when keyed_lines.line_key = 'ALL' then 3
            when keyed_lines.line_key in (
                keyed_products.id_key, keyed_products.brand_key, keyed_products.generic_key
            ) then 1
            else 2
        end) as specificity
    from keyed_products
    inner join keyed_lines
        on keyed_lines.line_key = 'ALL'
        or keyed_lines.line_key = keyed_products.line_key
        or keyed_lines.line_key = keyed_products.id_key
        or keyed_lines.line_key = keyed_products.brand_key
        or keyed_lines.line_key = keyed_products.generic_key
    group by keyed_products.product_id, keyed_lines.product_line
)

select * from final
