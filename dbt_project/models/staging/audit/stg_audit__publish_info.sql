with source as (
    select * from {{ source('audit', 'publish_info') }}
),

renamed as (
    select
        snapshot_id,
        published_at,
        run_id,
        gate_status
    from source
)

select * from renamed
