{#- incremental by month: a month's row reads that month's activities (by start date) and
    sell-out only (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per month (of the activity's start date) and territory (every level): activity
-- cost over net terminal sell-out of own products credited to the territory (费用率)
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_where('month') }}
),

territories as (
    select territory_id from {{ ref('stg_master__territories') }}
),

ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

activities as (
    select * from {{ ref('stg_marketing__activities') }}
    where {{ kpi_months_where(month_key('start_date')) }}
),

own_products as (
    select product_id from {{ ref('stg_master__products') }}
    where is_own
),

sell_out as (
    select sell_out.*
    from {{ ref('fct_sell_out') }} as sell_out
    inner join own_products on sell_out.product_id = own_products.product_id
    where sell_out.buyer_kind = 'terminal'
        and sell_out.crm_customer_id is not null
        and sell_out.territory_id is not null
        and {{ kpi_months_where('sell_out.month') }}
),

cost_rolled_up as (
    select
        {{ month_key('activities.start_date') }} as month,
        ancestors.ancestor_territory_id as territory_id,
        sum(activities.cost) as cost
    from activities
    inner join ancestors on activities.territory_id = ancestors.territory_id
    group by {{ month_key('activities.start_date') }}, ancestors.ancestor_territory_id
),

sales_rolled_up as (
    select
        sell_out.month,
        ancestors.ancestor_territory_id as territory_id,
        sum(sell_out.amount) as sell_out_amount
    from sell_out
    inner join ancestors on sell_out.territory_id = ancestors.territory_id
    group by sell_out.month, ancestors.ancestor_territory_id
),

final as (
    select
        months.month,
        territories.territory_id,
        cast(coalesce(cost_rolled_up.cost, 0) as double) as cost,
        cast(coalesce(sales_rolled_up.sell_out_amount, 0) as double) as sell_out_amount,
        {{ safe_divide('coalesce(cost_rolled_up.cost, 0)', 'sales_rolled_up.sell_out_amount') }}
            as expense_ratio
    from months
    cross join territories
    left join cost_rolled_up
        on months.month = cost_rolled_up.month
        and territories.territory_id = cost_rolled_up.territory_id
    left join sales_rolled_up
        on months.month = sales_rolled_up.month
        and territories.territory_id = sales_rolled_up.territory_id
)

select * from final
