{{ config(materialized='view') }}
-- one row per flow line in raw: product and unit mapped (quantities in boxes), buyer classified
-- (terminal or distributor) and matched, amount resolved, and a reason when the line cannot
-- enter fct_sell_out. A view, so fct_sell_out's month filter reaches the raw scan.
with lines as (
    select * from {{ ref('stg_flow__lines') }}
),

product_map as (
    select * from {{ ref('stg_matching__product_source_maps') }}
),

products as (
    select * from {{ ref('stg_master__products') }}
),

customer_map as (
    select * from {{ ref('stg_matching__customer_source_maps') }}
    where source_system = 'flow'
),

files as (
    select file_id, file_path, loaded_at from {{ ref('stg_audit__file_registry') }}
),

with_product as (
    select
        lines.*,
        product_map.product_id,
        products.list_price,
        {{ box_factor('lines.unit') }} as box_factor,
        case
            when lines.doc_type = 'return' then -1 * abs(lines.quantity)
            else lines.quantity
        end as signed_quantity,
        case
            when lines.doc_type = 'return' then -1 * abs(lines.amount)
            else lines.amount
        end as signed_amount
    from lines
    left join product_map
        on lines.distributor_code = product_map.distributor_code
        and lines.product_name = product_map.raw_product
        and lines.spec = product_map.raw_spec
    left join products
        on product_map.product_id = products.product_id
),

with_buyer as (
    select
        with_product.*,
        coalesce(customer_map.buyer_kind, 'terminal') as buyer_kind,
        customer_map.buyer_distributor_code,
        case
            when customer_map.buyer_kind = 'terminal'
                and customer_map.match_status in ('auto', 'manual')
                then customer_map.crm_customer_id
        end as crm_customer_id,
        coalesce(customer_map.match_status, 'unmatched') as customer_match_status
    from with_product
    left join customer_map
        on with_product.distributor_code = customer_map.distributor_code
        and with_product.buyer_code = customer_map.buyer_code
        and with_product.buyer_name = customer_map.raw_name
),

final as (
    select
        {{ dbt.concat([
            dbt.cast("with_buyer.file_id", dbt.type_string()), "'-'",
            "coalesce(with_buyer.sheet, '')", "'-'",
            dbt.cast("with_buyer.source_row", dbt.type_string())
        ]) }} as sell_out_line_id,
        with_buyer.file_id,
        with_buyer.sheet,
        with_buyer.source_row,
        files.file_path as source_file,
        files.loaded_at,
        with_buyer.distributor_code,
        with_buyer.sale_date,
        {{ month_key('with_buyer.sale_date') }} as month,
        with_buyer.buyer_kind,
        with_buyer.buyer_code,
        with_buyer.buyer_name as raw_buyer_name,
        with_buyer.buyer_distributor_code,
        with_buyer.crm_customer_id,
        with_buyer.customer_match_status,
        with_buyer.product_name as raw_product,
        with_buyer.spec as raw_spec,
        with_buyer.product_id,
        with_buyer.doc_type,
        with_buyer.unit,
        with_buyer.signed_quantity as quantity,
        with_buyer.signed_quantity * with_buyer.box_factor as qty_boxes,
        coalesce(
            with_buyer.signed_amount,
            with_buyer.signed_quantity * with_buyer.unit_price,
            with_buyer.signed_quantity * with_buyer.box_factor * with_buyer.list_price
        ) as amount,
        case
            when with_buyer.product_id is null then 'unknown_product'
            when with_buyer.box_factor is null then 'unknown_unit'
            when with_buyer.sale_date is null then 'missing_sale_date'
            when with_buyer.quantity is null then 'missing_quantity'
        end as exclusion_reason
    from with_buyer
    left join files on with_buyer.file_id = files.file_id
)

select * from final
