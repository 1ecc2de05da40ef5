-- one row per distributor of the latest master snapshot
with distributors as (
    select * from {{ ref('stg_master__distributors') }}
),

final as (
    select
        distributor_code,
        distributor_name as name,
        tier,
        province,
        is_flow_required as flow_required,
        city,
        aliases
    from distributors
)

select * from final
