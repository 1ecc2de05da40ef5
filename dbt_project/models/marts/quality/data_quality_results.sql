-- one row per check of every gate run this file holds: the quality results readers see. A
-- view over audit.gate_results, so in a published snapshot is_published_run marks the run
-- `sfe publish` stamped (audit.publish_info); FALSE everywhere in the working warehouse.
{{ config(materialized='view') }}

with results as (
    select * from {{ ref('stg_audit__gate_results') }}
),

gate_runs as (
    select * from {{ ref('stg_audit__gate_runs') }}
),

publish_status as (
    select * from {{ ref('int_publish_status') }}
),

final as (
    select
        results.run_id,
        results.check_name,
        results.severity,
        results.status,
        results.failing_rows,
        results.message,
        results.sample,
        results.checked_at,
        results.check_type,
        results.description,
        gate_runs.run_status,
        coalesce(results.run_id = publish_status.run_id, false) as is_published_run
    from results
    left join gate_runs on results.run_id = gate_runs.run_id
    left join publish_status on 1 = 1
)

select * from final
