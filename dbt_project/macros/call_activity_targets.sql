{#- The target HCPs of each rep and month and the calls each got: one owner for the rule shared
    by kpi_call_activity and kpi_call_activity_grade (whose rows add up to kpi_call_activity's).
    A target is a grade A-D HCP at a customer aligned, on the month's last day, to the rep's
    territory or one below it; its planned calls come from seed call_plan by the HCP's grade.

    Renders CTEs (comma-separated, to sit in the model's `with` list) ending in `call_targets`:
    one row per month, rep and target HCP (month, rep_id, territory_id, hcp_id,
    crm_customer_id, hcp_grade, calls, planned_calls).
      reps:        a CTE of (month, rep_id, territory_id), the rep's territory in the month
      calls:       a CTE of the fct_calls rows of those months
      months_where: a predicate on `month` bounding the alignments read (the months rebuilt) -#}
{% macro call_activity_targets(reps, calls, months_where) -%}
call_target_hcps as (
    select * from {{ ref('stg_master__hcps') }}
    where grade in ('A', 'B', 'C', 'D')
),

call_target_alignments as (
    select distinct month, crm_customer_id, territory_id
    from {{ ref('int_customer_alignments_monthly') }}
    where {{ months_where }}
),

call_target_ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

call_target_plan as (
    select * from {{ ref('call_plan') }}
),

call_target_members as (
    select distinct
        {{ reps }}.month,
        {{ reps }}.rep_id,
        {{ reps }}.territory_id,
        call_target_hcps.hcp_id,
        call_target_hcps.crm_customer_id,
        call_target_hcps.grade as hcp_grade
    from {{ reps }}
    inner join call_target_ancestors
        on {{ reps }}.territory_id = call_target_ancestors.ancestor_territory_id
    inner join call_target_alignments
        on {{ reps }}.month = call_target_alignments.month
        and call_target_ancestors.territory_id = call_target_alignments.territory_id
    inner join call_target_hcps
        on call_target_alignments.crm_customer_id = call_target_hcps.crm_customer_id
),

call_target_calls_per_hcp as (
    select month, rep_id, hcp_id, count(*) as calls
    from {{ calls }}
    group by month, rep_id, hcp_id
),

call_targets as (
    select
        call_target_members.month,
        call_target_members.rep_id,
        call_target_members.territory_id,
        call_target_members.hcp_id,
        call_target_members.crm_customer_id,
        call_target_members.hcp_grade,
        coalesce(call_target_calls_per_hcp.calls, 0) as calls,
        coalesce(call_target_plan.planned_calls_per_month, 0) as planned_calls
    from call_target_members
    left join call_target_calls_per_hcp
        on call_target_members.month = call_target_calls_per_hcp.month
        and call_target_members.rep_id = call_target_calls_per_hcp.rep_id
        and call_target_members.hcp_id = call_target_calls_per_hcp.hcp_id
    left join call_target_plan on call_target_members.hcp_grade = call_target_plan.grade
)
{%- endmacro %}
