-- one row per month, rep and customer grade (A-D from kpi_customer_grade, 'ungraded' before
-- the first graded quarter): kpi_call_activity's target HCPs, calls and plan split by the
-- grade of the HCP's customer, so the grades of a rep add up to its kpi_call_activity row
with rep_months as (
    select month, rep_id, territory_id from {{ ref('kpi_call_activity') }}
    where territory_id is not null
),

hcps as (
    select * from {{ ref('stg_master__hcps') }}
    where grade in ('A', 'B', 'C', 'D')
),

alignments as (
    select distinct month, crm_customer_id, territory_id
    from {{ ref('int_customer_alignments_monthly') }}
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

call_plan as (
    select * from {{ ref('call_plan') }}
),

calls as (
    select * from {{ ref('fct_calls') }}
),

grades as (
    select * from {{ ref('kpi_customer_grade') }}
),

-- the grading in force in a month (the latest quarter ended before it): one owner,
-- kpi_coverage_target_basis
grade_quarter_of_month as (
    select month, grade_quarter from {{ ref('kpi_coverage_target_basis') }}
),

target_hcps as (
    select distinct
        rep_months.month,
        rep_months.rep_id,
        rep_months.territory_id,
        hcps.hcp_id,
        hcps.grade as hcp_grade,
        hcps.crm_customer_id
    from rep_months
    inner join ancestors on rep_months.territory_id = ancestors.ancestor_territory_id
    inner join alignments
        on rep_months.month = alignments.month
        and ancestors.territory_id = alignments.territory_id
    inner join hcps on alignments.crm_customer_id = hcps.crm_customer_id
),

calls_per_hcp as (
    select month, rep_id, hcp_id, count(*) as calls
    from calls
    group by month, rep_id, hcp_id
),

per_target as (
    select
        target_hcps.month,
        target_hcps.rep_id,
        target_hcps.territory_id,
        grade_quarter_of_month.grade_quarter,
        coalesce(grades.grade, 'ungraded') as grade,
        coalesce(calls_per_hcp.calls, 0) as calls,
        coalesce(call_plan.planned_calls_per_month, 0) as planned_calls
    from target_hcps
    inner join grade_quarter_of_month on target_hcps.month = grade_quarter_of_month.month
    left join grades
        on grade_quarter_of_month.grade_quarter = grades.quarter
        and target_hcps.crm_customer_id = grades.crm_customer_id
    left join calls_per_hcp
        on target_hcps.month = calls_per_hcp.month
        and target_hcps.rep_id = calls_per_hcp.rep_id
        and target_hcps.hcp_id = calls_per_hcp.hcp_id
    left join call_plan on target_hcps.hcp_grade = call_plan.grade
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
