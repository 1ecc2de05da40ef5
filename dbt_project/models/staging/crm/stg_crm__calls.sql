with source as (
    select * from {{ source('raw', 'crm__calls') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        cast(call_id as {{ dbt.type_string() }}) as call_id,
        cast(rep_id as {{ dbt.type_string() }}) as rep_id,
        cast(hcp_id as {{ dbt.type_string() }}) as hcp_id,
        cast(crm_customer_id as {{ dbt.type_string() }}) as crm_customer_id,
        cast(call_datetime as {{ dbt.type_timestamp() }}) as call_at,
        cast(call_datetime as date) as call_date,
        {{ normalise_call_channel('channel') }} as channel,
        products as product_ids,
        cast(report_submitted_at as {{ dbt.type_timestamp() }}) as report_submitted_at,
        cast(objective_met as boolean) as is_objective_met,
        next_step
    from source
)

select * from renamed
