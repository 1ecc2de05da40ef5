with source as (
    select * from {{ source('raw', 'flow__lines') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        sheet,
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        cast(sale_date as date) as sale_date,
        {{ buyer_key('buyer_code') }} as buyer_code,
        buyer_name,
        buyer_address,
        product_name,
        {{ spec_key('spec') }} as spec,
        manufacturer,
        batch_no,
        cast(expiry_date as date) as expiry_date,
        cast(quantity as double) as quantity,
        coalesce(nullif(lower(unit), ''), 'box') as unit,
        raw_unit,
        cast(unit_price as double) as unit_price,
        cast(amount as double) as amount,
        coalesce(nullif(lower(doc_type), ''), 'sale') as doc_type
    from source
)

select * from renamed
