with source as (
    select * from {{ source('raw', 'inventory__lines') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        sheet,
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        cast(snapshot_date as date) as snapshot_date,
        product_name,
        {{ spec_key('spec') }} as spec,
        batch_no,
        cast(expiry_date as date) as expiry_date,
        cast(quantity as double) as quantity,
        coalesce(nullif(lower(unit), ''), 'box') as unit,
        raw_unit
    from source
)

select * from renamed
