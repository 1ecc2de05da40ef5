{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_months_strategy(),
        partition_by=incremental_months_partition(),
        unique_key='month',
        on_schema_change='append_new_columns'
    )
}}
-- depends_on: {{ ref('stg_audit__file_registry') }}
-- one row per CRM call, with the rep's territory on the call date and the HCP's grade
with calls as (
    select * from {{ ref('stg_crm__calls') }}
),

hcps as (
    select * from {{ ref('stg_master__hcps') }}
),

assignments as (
    select * from {{ ref('stg_master__rep_assignments') }}
),

files as (
    select file_id, loaded_at from {{ ref('stg_audit__file_registry') }}
),

rep_territory as (
    select
        calls.call_id,
        assignments.territory_id,
        row_number() over (
            partition by calls.call_id
            order by assignments.valid_from desc, assignments.territory_id
        ) as preference
    from calls
    inner join assignments
        on calls.rep_id = assignments.rep_id
        and assignments.valid_from <= calls.call_date
        and (assignments.valid_to is null or assignments.valid_to >= calls.call_date)
),

final as (
    select
        calls.call_date,
        {{ month_key('calls.call_date') }} as month,
        calls.rep_id,
        calls.hcp_id,
        coalesce(calls.crm_customer_id, hcps.crm_customer_id) as crm_customer_id,
        rep_territory.territory_id,
        calls.channel,
        coalesce(
            calls.report_submitted_at is not null
            and calls.report_submitted_at <= {{ dbt.dateadd('hour', 24, 'calls.call_at') }},
            false
        ) as report_on_time,
        calls.call_id,
        calls.call_at,
        calls.report_submitted_at,
        hcps.grade as hcp_grade,
        calls.product_ids,
        calls.file_id,
        files.loaded_at
    from calls
    left join hcps on calls.hcp_id = hcps.hcp_id
    left join rep_territory
        on calls.call_id = rep_territory.call_id
        and rep_territory.preference = 1
    left join files on calls.file_id = files.file_id
)

select * from final
{% if is_incremental() and not run_var('rebuild_all_months', false) %}
where {{ months_touched_since_last_build('call_date', ref('stg_crm__calls')) }}
{% endif %}
