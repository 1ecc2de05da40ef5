-- one row per raw buyer name seen in flow, inventory or tender data per distributor (or
-- province) and buyer code, with what matching made of it
with source_map as (
    select * from {{ ref('stg_matching__customer_source_maps') }}
),

final as (
    select
        source_system as source,
        distributor_code,
        source_key,
        raw_name,
        case when match_status in ('auto', 'manual') then crm_customer_id end as crm_customer_id,
        match_status,
        match_method,
        match_score,
        buyer_code,
        normalized_name,
        buyer_kind,
        buyer_distributor_code
    from source_map
)

select * from final
