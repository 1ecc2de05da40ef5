{{ config(materialized='view') }}
-- one row per usable flow line (product and unit known) with the territory credited: the one
-- the buyer was aligned to ON THE SALE DATE for the product's line (so a realignment restates
-- nothing in the past). Only matched terminal buyers are credited; one territory at most.
with lines as (
    select * from {{ ref('int_sell_out_lines_mapped') }}
    where exclusion_reason is null
),

alignments as (
    select * from {{ ref('stg_master__customer_alignments') }}
),

product_lines as (
    select * from {{ ref('int_products_lines_matched') }}
),

-- the credit depends on buyer, product and sale date only: ranked once per such sale, not
-- once per line (many lines share one; no string key in the window or the join back). Read
-- from the view, not from `lines`: DuckDB materializes a CTE read twice whole, which cost more
-- than mapping twice and stops a month filter on `final` from reaching the raw scan
sales as (
    select distinct month, crm_customer_id, product_id, sale_date
    from {{ ref('int_sell_out_lines_mapped') }}
    where exclusion_reason is null and buyer_kind = 'terminal'
),

candidates as (
    select
        sales.month,
        sales.crm_customer_id,
        sales.product_id,
        sales.sale_date,
        alignments.territory_id,
        row_number() over (
            -- month in the partition lets an incremental month filter reach this window
            partition by sales.month, sales.crm_customer_id, sales.product_id, sales.sale_date
            order by product_lines.specificity, alignments.valid_from desc,
                alignments.territory_id
        ) as preference
    from sales
    inner join alignments
        on sales.crm_customer_id = alignments.crm_customer_id
        and alignments.valid_from <= sales.sale_date
        and (alignments.valid_to is null or alignments.valid_to >= sales.sale_date)
    inner join product_lines
        on sales.product_id = product_lines.product_id
        and alignments.product_line = product_lines.product_line
),

final as (
    select
        lines.*,
        candidates.territory_id
    from lines
    left join candidates
        on lines.month = candidates.month
        and lines.crm_customer_id = candidates.crm_customer_id
        and lines.product_id = candidates.product_id
        and lines.sale_date = candidates.sale_date
        and lines.buyer_kind = 'terminal'
        and candidates.preference = 1
)

select * from final
