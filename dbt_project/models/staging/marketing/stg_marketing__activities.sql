with source as (
    select * from {{ source('raw', 'marketing__activities') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        cast(activity_id as {{ dbt.type_string() }}) as activity_id,
        {{ normalise_activity_type('activity_type') }} as activity_type,
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(cost as double) as cost,
        cast(territory_id as {{ dbt.type_string() }}) as territory_id
    from source
)

select * from renamed
