{#- incremental by month: a month's row reads that month's calls, assignments and alignments
    only (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per rep and month, for the territory the rep is assigned to (at month end, else the
-- latest assignment touching the month): targets are grade A-D HCPs at customers aligned to
-- that territory (or below it) on the last day of the month
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_where('month') }}
),

assignments as (
    select * from {{ ref('stg_master__rep_assignments') }}
),

calls as (
    select * from {{ ref('fct_calls') }}
    where {{ kpi_months_where('month') }}
),

assignment_of_month as (
    select month, rep_id, territory_id
    from (
        select
            months.month,
            assignments.rep_id,
            assignments.territory_id,
            row_number() over (
                partition by months.month, assignments.rep_id
                order by
                    case
                        when assignments.valid_to is null
                            or assignments.valid_to >= months.month_end then 0
                        else 1
                    end,
                    assignments.valid_from desc,
                    assignments.territory_id
            ) as preference
        from months
        inner join assignments
            on assignments.valid_from <= months.month_end
            and (assignments.valid_to is null or assignments.valid_to >= months.month_start)
    ) as ranked
    where preference = 1
),

rep_months as (
    select month, rep_id from assignment_of_month
    union
    select month, rep_id from calls
),

reps as (
    select
        rep_months.month,
        rep_months.rep_id,
        assignment_of_month.territory_id
    from rep_months
    left join assignment_of_month
        on rep_months.month = assignment_of_month.month
        and rep_months.rep_id = assignment_of_month.rep_id
),

{{ call_activity_targets('reps', 'calls', kpi_months_where('month')) }},

targets_summary as (
    select
        month,
        rep_id,
        count(*) as target_hcps,
        sum(case when calls > 0 then 1 else 0 end) as reached_hcps,
        sum(calls) as calls_on_targets,
        sum(planned_calls) as planned_calls,
        sum(case when calls < planned_calls then calls else planned_calls end) as adherent_calls
    from call_targets
    group by month, rep_id
),

calls_summary as (
    select
        month,
        rep_id,
        count(*) as calls,
        sum(case when report_on_time then 1 else 0 end) as calls_reported_on_time
    from calls
    group by month, rep_id
),

final as (
    select
        reps.month,
        reps.rep_id,
        reps.territory_id,
        cast(coalesce(targets_summary.target_hcps, 0) as bigint) as target_hcps,
        cast(coalesce(targets_summary.reached_hcps, 0) as bigint) as reached_hcps,
        cast(coalesce(calls_summary.calls, 0) as bigint) as calls,
        cast(coalesce(targets_summary.planned_calls, 0) as bigint) as planned_calls,
        {{ safe_divide('targets_summary.reached_hcps', 'targets_summary.target_hcps') }}
            as reach_rate,
        {{ safe_divide('targets_summary.calls_on_targets', 'targets_summary.reached_hcps') }}
            as frequency,
        {{ safe_divide('targets_summary.adherent_calls', 'targets_summary.planned_calls') }}
            as plan_adherence,
        {{ safe_divide('calls_summary.calls_reported_on_time', 'calls_summary.calls') }}
            as report_on_time_rate,
        cast(coalesce(targets_summary.calls_on_targets, 0) as bigint) as calls_on_targets,
        cast(coalesce(targets_summary.adherent_calls, 0) as bigint) as adherent_calls,
        cast(coalesce(calls_summary.calls_reported_on_time, 0) as bigint)
            as calls_reported_on_time
    from reps
    left join targets_summary
        on reps.month = targets_summary.month
        and reps.rep_id = targets_summary.rep_id
    left join calls_summary
        on reps.month = calls_summary.month
        and reps.rep_id = calls_summary.rep_id
)

select * from final
