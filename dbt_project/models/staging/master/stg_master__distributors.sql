with source as (
    select * from {{ source('raw', 'master__distributors') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        name as distributor_name,
        cast(tier as integer) as tier,
        province,
        city,
        cast(flow_required as boolean) as is_flow_required,
        aliases,
        -- as written: a region's territory_id or name; dim_distributor resolves or derives it
        cast(region_id as {{ dbt.type_string() }}) as region_id,
        snapshot_date
    from latest
)

select * from renamed
