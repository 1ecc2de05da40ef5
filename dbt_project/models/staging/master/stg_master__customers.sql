-- latest master snapshot only: the CRM list as it stands today; type and level as the marts
-- write them (医院 → hospital, 三级甲等 → 三甲; macros/master_values.sql)
with source as (
    select * from {{ source('raw', 'master__customers') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        name as customer_name,
        {{ normalise_customer_type('customer_type') }} as customer_type,
        {{ normalise_hospital_level('level') }} as level,
        province,
        city,
        district,
        address,
        cast(beds as integer) as beds,
        cast(potential as double) as potential,
        snapshot_date
    from latest
)

select * from renamed
