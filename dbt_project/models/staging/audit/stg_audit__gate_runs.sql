with source as (
    select * from {{ source('audit', 'gate_runs') }}
),

renamed as (
    select
        run_id,
        status as run_status
    from source
)

select * from renamed
