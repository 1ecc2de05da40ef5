-- one row per publish stamp in this file, at most one (the latest): 'passed' when the gate
-- run it names passed, else 'failed'. No row in the working warehouse (never stamped).
{{ config(materialized='view') }}

with publish_info as (
    select * from {{ ref('stg_audit__publish_info') }}
),

gate_runs as (
    select * from {{ ref('stg_audit__gate_runs') }}
),

latest as (
    select
        publish_info.run_id,
        case
            when publish_info.gate_status = 'passed' and gate_runs.run_status = 'passed'
                then 'passed'
            else 'failed'
        end as data_status
    from publish_info
    left join gate_runs on publish_info.run_id = gate_runs.run_id
    order by publish_info.published_at desc
    limit 1
)

select * from latest
