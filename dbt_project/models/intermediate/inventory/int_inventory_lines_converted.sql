-- one row per stock-report line with its product and quantity in boxes (lines whose product
-- or unit is unknown keep product_id / qty_boxes NULL and are left out of the KPI)
with lines as (
    select * from {{ ref('stg_inventory__lines') }}
),

product_map as (
    select * from {{ ref('stg_matching__product_source_maps') }}
),

products as (
    select * from {{ ref('stg_master__products') }}
),

final as (
    select
        lines.file_id,
        lines.sheet,
        lines.source_row,
        lines.distributor_code,
        lines.snapshot_date,
        {{ month_key('lines.snapshot_date') }} as month,
        product_map.product_id,
        lines.quantity * {{ box_factor('lines.unit') }} as qty_boxes
    from lines
    left join product_map
        on lines.distributor_code = product_map.distributor_code
        and lines.product_name = product_map.raw_product
        and lines.spec = product_map.raw_spec
    left join products
        on product_map.product_id = products.product_id
)

select * from final
