with source as (
    select * from {{ source('raw', 'plan__targets') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        cast(month as {{ dbt.type_string() }}) as month,
        cast(territory_id as {{ dbt.type_string() }}) as territory_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(target_amount as double) as target_amount,
        cast(target_boxes as double) as target_boxes
    from source
)

select * from renamed
