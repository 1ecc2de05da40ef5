with source as (
    select * from {{ source('audit', 'gate_results') }}
),

renamed as (
    select
        run_id,
        check_name,
        severity,
        status,
        failing_rows,
        message,
        sample,
        checked_at,
        check_type,
        description
    from source
)

select * from renamed
