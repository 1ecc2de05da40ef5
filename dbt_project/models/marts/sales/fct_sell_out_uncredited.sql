-- one row per own-product sell-out line to a matched terminal customer that is credited to no
-- territory, with the reason a person can act on: the customer is not in the alignment at all,
-- has no alignment row on the sale date, has rows on the date whose line names no product of
-- the master (unresolved_lines), or has rows on the date for other lines only. The
-- territory_credit gate reads it to name the lines and customers when too much goes uncredited.
with sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where buyer_kind = 'terminal'
        and crm_customer_id is not null
        and territory_id is null
),

own_products as (
    select product_id, product_line from {{ ref('dim_product') }}
    where is_own
),

alignments as (
    select * from {{ ref('bridge_customer_territory') }}
),

product_lines as (
    select * from {{ ref('int_products_lines_matched') }}
),

uncredited as (
    select
        sell_out.*,
        own_products.product_line
    from sell_out
    inner join own_products on sell_out.product_id = own_products.product_id
),

aligned_customers as (
    select distinct crm_customer_id from alignments
),

rows_on_sale_date as (
    select
        uncredited.sell_out_line_id,
        alignments.product_line as alignment_line,
        alignments.products_named,
        product_lines.product_id is not null as covers_product
    from uncredited
    inner join alignments
        on uncredited.crm_customer_id = alignments.crm_customer_id
        and alignments.valid_from <= uncredited.sale_date
        and (alignments.valid_to is null or alignments.valid_to >= uncredited.sale_date)
    left join product_lines
        on alignments.product_line = product_lines.product_line
        and uncredited.product_id = product_lines.product_id
),

explained as (
    select
        sell_out_line_id,
        {{ string_agg_distinct('alignment_line', "', '") }} as alignment_lines,
        {{ string_agg_distinct('case when products_named = 0 then alignment_line end', "', '") }}
            as unresolved_lines,
        bool_or(covers_product) as has_covering_row
    from rows_on_sale_date
    group by sell_out_line_id
),

final as (
    select
        uncredited.sale_date,
        uncredited.month,
        uncredited.distributor_code,
        uncredited.crm_customer_id,
        uncredited.raw_buyer_name,
        uncredited.product_id,
        uncredited.product_line,
        uncredited.qty_boxes,
        uncredited.amount,
        uncredited.source_file,
        uncredited.source_row,
        uncredited.sell_out_line_id,
        case
            when aligned_customers.crm_customer_id is null then 'customer_not_in_alignment'
            when explained.sell_out_line_id is null then 'no_alignment_on_sale_date'
            when explained.unresolved_lines is not null then 'line_names_no_product'
            when explained.has_covering_row then 'aligned_but_not_credited'
            else 'no_alignment_for_product_line'
        end as reason,
        explained.alignment_lines,
        explained.unresolved_lines
    from uncredited
    left join aligned_customers on uncredited.crm_customer_id = aligned_customers.crm_customer_id
    left join explained on uncredited.sell_out_line_id = explained.sell_out_line_id
)

select * from final
