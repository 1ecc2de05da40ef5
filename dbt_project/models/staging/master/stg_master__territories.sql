with source as (
    select * from {{ source('raw', 'master__territories') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(territory_id as {{ dbt.type_string() }}) as territory_id,
        cast(nullif(parent_id, '') as {{ dbt.type_string() }}) as parent_id,
        {{ normalise_territory_level('level') }} as territory_level,
        name as territory_name,
        snapshot_date
    from latest
)

select * from renamed
