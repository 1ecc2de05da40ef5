-- one row per customer of the latest master snapshot: where it is, so a steward can tell two
-- same-named candidates apart
with customers as (
    select * from {{ ref('stg_master__customers') }}
),

final as (
    select
        crm_customer_id,
        customer_name as name,
        province,
        city,
        district,
        address
    from customers
)

select * from final
