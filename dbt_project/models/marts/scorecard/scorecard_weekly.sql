-- one row per week (starting Monday) and region: the executive scorecard
-- (int_scorecard__weekly) and whether its numbers passed the quality gates. A view: the stamp
-- `sfe publish` writes into the published snapshot (audit.publish_info) shows through here, so
-- data_status is 'passed' there and 'unchecked' in the working warehouse, and no writer
-- outside dbt touches marts.
{{ config(materialized='view') }}

with weekly as (
    select * from {{ ref('int_scorecard__weekly') }}
),

publish_status as (
    select * from {{ ref('int_publish_status') }}
),

final as (
    select
        weekly.week_start,
        weekly.region_id,
        weekly.sell_out_amount,
        weekly.sell_out_amount_ly,
        weekly.growth,
        weekly.mtd_achievement_rate,
        weekly.ytd_achievement_rate,
        weekly.coverage_rate,
        weekly.plan_adherence,
        weekly.flow_completeness_rate,
        weekly.distributors_over_doi_threshold,
        coalesce(publish_status.data_status, 'unchecked') as data_status,
        weekly.week_end,
        weekly.as_of_month
    from weekly
    left join publish_status on 1 = 1
)

select * from final
