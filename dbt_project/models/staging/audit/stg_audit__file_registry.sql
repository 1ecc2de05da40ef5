with source as (
    select * from {{ source('audit', 'file_registry') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        path as file_path,
        sha256,
        source as source_system,
        entity,
        cast(distributor_code as {{ dbt.type_string() }}) as distributor_code,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        status as file_status,
        cast(rows_read as integer) as rows_read,
        cast(rows_loaded as integer) as rows_loaded,
        cast(rows_quarantined as integer) as rows_quarantined,
        cast(superseded_by as bigint) as superseded_by,
        run_id
    from source
)

select * from renamed
