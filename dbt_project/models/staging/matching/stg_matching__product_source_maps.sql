with source as (
    select * from {{ source('matching', 'product_source_map') }}
),

renamed as (
    select
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        raw_product,
        {{ spec_key('raw_spec') }} as raw_spec,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        match_status,
        match_method,
        cast(match_score as double) as match_score,
        cast(box_factor_min_unit as double) as box_factor_min_unit,
        cast(box_factor_case as double) as box_factor_case
    from source
)

select * from renamed
