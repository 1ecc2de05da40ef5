{#- incremental by month, the months kpi_call_activity_grade rebuilds -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months(or_where=kpi_months_after_changed_quarter('month')) }}"
) }}
-- one row per month, territory (every level) and customer grade: kpi_call_activity_grade of
-- the reps assigned to the territory or below it, counts summed and rates taken from the sums
with by_rep as (
    select * from {{ ref('kpi_call_activity_grade') }}
    where {{ kpi_months_where('month', or_where=kpi_months_after_changed_quarter('month')) }}
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

summed as (
    select
        by_rep.month,
        ancestors.ancestor_territory_id as territory_id,
        by_rep.grade,
        count(distinct by_rep.rep_id) as reps,
        sum(by_rep.target_hcps) as target_hcps,
        sum(by_rep.reached_hcps) as reached_hcps,
        sum(by_rep.calls) as calls,
        sum(by_rep.planned_calls) as planned_calls,
        sum(by_rep.adherent_calls) as adherent_calls
    from by_rep
    inner join ancestors on by_rep.territory_id = ancestors.territory_id
    group by by_rep.month, ancestors.ancestor_territory_id, by_rep.grade
),

final as (
    select
        month,
        territory_id,
        grade,
        cast(reps as bigint) as reps,
        cast(target_hcps as bigint) as target_hcps,
        cast(reached_hcps as bigint) as reached_hcps,
        cast(calls as bigint) as calls,
        cast(planned_calls as bigint) as planned_calls,
        {{ safe_divide('reached_hcps', 'target_hcps') }} as reach_rate,
        {{ safe_divide('calls', 'reached_hcps') }} as frequency,
        {{ safe_divide('adherent_calls', 'planned_calls') }} as plan_adherence
    from summed
)

select * from final
