with source as (
    select * from {{ source('raw', 'master__rep_assignments') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(rep_id as {{ dbt.type_string() }}) as rep_id,
        rep_name,
        cast(territory_id as {{ dbt.type_string() }}) as territory_id,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        snapshot_date
    from latest
)

select * from renamed
