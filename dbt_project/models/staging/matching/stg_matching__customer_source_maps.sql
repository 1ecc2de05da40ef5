with source as (
    select * from {{ source('matching', 'customer_source_map') }}
),

renamed as (
    select
        source as source_system,
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        {{ buyer_key('buyer_code') }} as buyer_code,
        raw_name,
        source_key,
        normalized_name,
        coalesce(buyer_kind, 'terminal') as buyer_kind,
        cast(buyer_distributor_code as {{ dbt.type_string() }}) as buyer_distributor_code,
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        match_status,
        match_method,
        cast(match_score as double) as match_score
    from source
)

select * from renamed
