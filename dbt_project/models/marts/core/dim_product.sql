-- one row per product of the master (own and competitor)
with products as (
    select * from {{ ref('stg_master__products') }}
),

final as (
    select
        product_id,
        generic_name,
        brand_name,
        spec,
        pack_size,
        is_own,
        dosage_form,
        case_size,
        list_price,
        product_line
    from products
)

select * from final
