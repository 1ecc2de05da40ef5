with source as (
    select * from {{ source('raw', 'master__products') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        generic_name,
        brand_name,
        spec,
        dosage_form,
        cast(pack_size as integer) as pack_size,
        cast(case_size as integer) as case_size,
        cast(list_price as double) as list_price,
        cast(is_own as boolean) as is_own,
        {{ normalise_label('product_line') }} as product_line,
        snapshot_date
    from latest
)

select * from renamed
