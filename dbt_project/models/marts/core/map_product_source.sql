-- one row per (distributor_code, raw_product, raw_spec) seen in flow or stock files and the
-- product it maps to (NULL when unknown; such flow lines are in int_sell_out_lines_excluded)
with source_map as (
    select * from {{ ref('stg_matching__product_source_maps') }}
),

final as (
    select
        distributor_code,
        raw_product,
        raw_spec,
        product_id,
        match_method,
        match_status,
        match_score,
        box_factor_min_unit,
        box_factor_case
    from source_map
)

select * from final
