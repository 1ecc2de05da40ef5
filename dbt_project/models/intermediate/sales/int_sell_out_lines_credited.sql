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

-- the same lines, not `lines` again: a CTE read twice is materialized whole (DuckDB), which
-- stops a month filter from reaching the raw scan
terminal_lines as (
    select * from {{ ref('int_sell_out_lines_mapped') }}
    where exclusion_reason is null and buyer_kind = 'terminal'
),

candidates as (
    select
        lines.month,
        lines.sale_date,
        lines.sell_out_line_id,
        alignments.territory_id,
        row_number() over (
            -- month and sale_date in the partition and the join below (a line has one of
            -- each) carry a month or date filter on `final` to this window and its scan
            partition by lines.month, lines.sale_date, lines.sell_out_line_id
            order by product_lines.specificity, alignments.valid_from desc,
                alignments.territory_id
        ) as preference
    from terminal_lines as lines
    inner join alignments
        on lines.crm_customer_id = alignments.crm_customer_id
        and alignments.valid_from <= lines.sale_date
        and (alignments.valid_to is null or alignments.valid_to >= lines.sale_date)
    inner join product_lines
        on lines.product_id = product_lines.product_id
        and alignments.product_line = product_lines.product_line
),

final as (
    select
        lines.*,
        candidates.territory_id
    from lines
    left join candidates
        on lines.month = candidates.month
        and lines.sale_date = candidates.sale_date
        and lines.sell_out_line_id = candidates.sell_out_line_id
        and candidates.preference = 1
)

select * from final
