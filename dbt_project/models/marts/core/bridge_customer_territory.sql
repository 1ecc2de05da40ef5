-- one row per customer, territory, product line and validity period (effective-dated
-- alignment; valid_to NULL = still aligned). Sales are credited on the transaction date.
-- products_named = how many products of the master the line covers: 0 is a line that names
-- no product (a data error: it credits nothing; the territory_credit gate names it).
with alignments as (
    select * from {{ ref('stg_master__customer_alignments') }}
),

product_lines as (
    select * from {{ ref('int_products_lines_matched') }}
),

line_products as (
    select product_line, count(distinct product_id) as products_named
    from product_lines
    group by product_line
),

final as (
    select
        alignments.crm_customer_id,
        alignments.territory_id,
        alignments.product_line,
        alignments.valid_from,
        alignments.valid_to,
        cast(coalesce(line_products.products_named, 0) as bigint) as products_named
    from alignments
    left join line_products on alignments.product_line = line_products.product_line
)

select * from final
