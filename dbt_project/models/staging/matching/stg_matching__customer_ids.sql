with source as (
    select * from {{ source('matching', 'customer_ids') }}
),

renamed as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id
    from source
)

select * from renamed
