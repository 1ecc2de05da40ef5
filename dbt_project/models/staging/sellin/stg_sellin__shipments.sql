with source as (
    select * from {{ source('raw', 'sellin__shipments') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        cast(invoice_no as {{ dbt.type_string() }}) as invoice_no,
        cast(line_no as integer) as line_no,
        cast(ship_date as date) as ship_date,
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(quantity_boxes as double) as qty_boxes,
        cast(amount as double) as amount
    from source
)

select * from renamed
