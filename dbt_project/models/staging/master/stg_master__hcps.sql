with source as (
    select * from {{ source('raw', 'master__hcps') }}
),

latest as (
    {{ latest_snapshot('source') }}
),

renamed as (
    select
        cast(hcp_id as {{ dbt.type_string() }}) as hcp_id,
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        name as hcp_name,
        department,
        title,
        {{ normalise_hcp_grade('grade') }} as grade,
        snapshot_date
    from latest
)

select * from renamed
