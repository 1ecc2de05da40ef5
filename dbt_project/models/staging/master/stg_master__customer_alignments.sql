-- the latest alignment file holds the whole effective-dated history
with source as (
    select * from {{ source('raw', 'master__customer_alignment') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        cast(territory_id as {{ dbt.type_string() }}) as territory_id,
        {{ normalise_alignment_line('product_line') }} as product_line,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        snapshot_date
    from latest
)

select * from renamed
