{#- incremental by month: a month reads its own calls and alignments and the grades in force,
    which a change in month m can move for every month after quarter(m); those are rebuilt too
    (macros/incremental_kpi_months.sql) -#}
{%- set rebuilt = kpi_months_where('month', or_where=kpi_months_after_changed_quarter('month')) -%}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months(or_where=kpi_months_after_changed_quarter('month')) }}"
) }}
-- one row per month, rep and customer grade (A-D from kpi_customer_grade, 'ungraded' before
-- the first graded quarter): kpi_call_activity's target HCPs, calls and plan split by the
-- grade of the HCP's customer, so the grades of a rep add up to its kpi_call_activity row
with rep_months as (
    select month, rep_id, territory_id from {{ ref('kpi_call_activity') }}
    where territory_id is not null
        and {{ rebuilt }}
),

calls as (
    select * from {{ ref('fct_calls') }}
    where {{ rebuilt }}
),

grades as (
    select * from {{ ref('kpi_customer_grade') }}
),

-- the grading in force in a month (the latest quarter ended before it): one owner,
-- kpi_coverage_target_basis
grade_quarter_of_month as (
    select month, grade_quarter from {{ ref('kpi_coverage_target_basis') }}
    where {{ rebuilt }}
),

{{ call_activity_targets('rep_months', 'calls', rebuilt) }},

per_target as (
    select
        call_targets.month,
        call_targets.rep_id,
        call_targets.territory_id,
        grade_quarter_of_month.grade_quarter,
        coalesce(grades.grade, 'ungraded') as grade,
        call_targets.calls,
        call_targets.planned_calls
    from call_targets
    inner join grade_quarter_of_month on call_targets.month = grade_quarter_of_month.month
    left join grades
        on grade_quarter_of_month.grade_quarter = grades.quarter
        and call_targets.crm_customer_id = grades.crm_customer_id
),

summary as (
    select
        month,
        rep_id,
        territory_id,
        grade,
        grade_quarter,
        count(*) as target_hcps,
        sum(case when calls > 0 then 1 else 0 end) as reached_hcps,
        sum(calls) as calls,
        sum(planned_calls) as planned_calls,
        sum(case when calls < planned_calls then calls else planned_calls end) as adherent_calls
    from per_target
    group by month, rep_id, territory_id, grade, grade_quarter
),

final as (
    select
        month,
        rep_id,
        territory_id,
        grade,
        cast(target_hcps as bigint) as target_hcps,
        cast(reached_hcps as bigint) as reached_hcps,
        cast(calls as bigint) as calls,
        cast(planned_calls as bigint) as planned_calls,
        {{ safe_divide('reached_hcps', 'target_hcps') }} as reach_rate,
        {{ safe_divide('calls', 'reached_hcps') }} as frequency,
        {{ safe_divide('adherent_calls', 'planned_calls') }} as plan_adherence,
        cast(adherent_calls as bigint) as adherent_calls,
        grade_quarter
    from summary
)

select * from final
