{#- incremental by month: a month's rows read that month's sell-out only
    (macros/incremental_kpi_months.sql); a changed territory master rebuilds every month -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per distributor, month and region with sell-out credited to a territory of that
-- region: its net amount. dim_distributor derives a distributor's region from its last three
-- such months, which may lie at any age: kept here month by month, so that reads a few
-- thousand rows, not every sell-out line of the history
with sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where territory_id is not null
        and {{ kpi_months_where('month') }}
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

regions as (
    select territory_id as region_id
    from {{ ref('stg_master__territories') }}
    where territory_level = 'region'
),

final as (
    select
        sell_out.distributor_code,
        sell_out.month,
        ancestors.ancestor_territory_id as region_id,
        sum(sell_out.amount) as amount
    from sell_out
    inner join ancestors on sell_out.territory_id = ancestors.territory_id
    inner join regions on ancestors.ancestor_territory_id = regions.region_id
    group by sell_out.distributor_code, sell_out.month, ancestors.ancestor_territory_id
)

select * from final
