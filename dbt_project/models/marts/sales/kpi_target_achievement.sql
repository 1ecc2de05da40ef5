{#- incremental by month: a month's YTD reads the months before it in its year, so a changed
    month rebuilds the rest of its year (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months(rest_of_year=true) }}"
) }}
-- one row per month, territory (every level) and own product: target vs net terminal
-- sell-out of matched customers credited to the territory on the sale date, month and YTD
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_read_from('month', rest_of_year=true, year_start=true) }}
),

territories as (
    select territory_id from {{ ref('stg_master__territories') }}
),

own_products as (
    select product_id from {{ ref('stg_master__products') }}
    where is_own
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

plan_targets as (
    select * from {{ ref('stg_plan__targets') }}
    where {{ kpi_months_read_from('month', rest_of_year=true, year_start=true) }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where buyer_kind = 'terminal'
        and crm_customer_id is not null
        and territory_id is not null
        and {{ kpi_months_read_from('month', rest_of_year=true, year_start=true) }}
),

targets_rolled_up as (
    select
        plan_targets.month,
        ancestors.ancestor_territory_id as territory_id,
        plan_targets.product_id,
        sum(plan_targets.target_amount) as target_amount
    from plan_targets
    inner join ancestors on plan_targets.territory_id = ancestors.territory_id
    group by plan_targets.month, ancestors.ancestor_territory_id, plan_targets.product_id
),

actuals_rolled_up as (
    select
        sell_out.month,
        ancestors.ancestor_territory_id as territory_id,
        sell_out.product_id,
        sum(sell_out.amount) as actual_amount
    from sell_out
    inner join ancestors on sell_out.territory_id = ancestors.territory_id
    group by sell_out.month, ancestors.ancestor_territory_id, sell_out.product_id
),

monthly as (
    select
        months.month,
        months.year,
        territories.territory_id,
        own_products.product_id,
        coalesce(targets_rolled_up.target_amount, 0) as target_amount,
        coalesce(actuals_rolled_up.actual_amount, 0) as actual_amount
    from months
    cross join territories
    cross join own_products
    left join targets_rolled_up
        on months.month = targets_rolled_up.month
        and territories.territory_id = targets_rolled_up.territory_id
        and own_products.product_id = targets_rolled_up.product_id
    left join actuals_rolled_up
        on months.month = actuals_rolled_up.month
        and territories.territory_id = actuals_rolled_up.territory_id
        and own_products.product_id = actuals_rolled_up.product_id
),

year_to_date as (
    select
        monthly.*,
        {{ year_to_date('target_amount', 'territory_id, product_id') }} as ytd_target_amount,
        {{ year_to_date('actual_amount', 'territory_id, product_id') }} as ytd_actual_amount
    from monthly
),

final as (
    select
        month,
        territory_id,
        product_id,
        cast(target_amount as double) as target_amount,
        cast(actual_amount as double) as actual_amount,
        {{ safe_divide('actual_amount', 'target_amount') }} as achievement_rate,
        cast(ytd_target_amount as double) as ytd_target_amount,
        cast(ytd_actual_amount as double) as ytd_actual_amount,
        {{ safe_divide('ytd_actual_amount', 'ytd_target_amount') }} as ytd_achievement_rate
    from year_to_date
    where {{ kpi_months_where('month', rest_of_year=true) }}
)

select * from final
