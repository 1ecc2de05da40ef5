{#- incremental by month: a sale date's rows read that date's facts only
    (macros/incremental_kpi_months.sql); Parquet on Spark like the marts, partitioned by month -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    file_format='parquet',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per sale date, region and distributor: net terminal sell-out of own products to
-- matched customers, credited to a territory under the region (month: the sale date's)
with ancestors as (
    select * from {{ ref('int_territory_ancestors') }}
),

regions as (
    select territory_id as region_id
    from {{ ref('stg_master__territories') }}
    where territory_level = 'region'
),

own_products as (
    select product_id from {{ ref('stg_master__products') }}
    where is_own
),

region_daily_sales as (
    select
        sell_out.sale_date,
        sell_out.month,
        ancestors.ancestor_territory_id as region_id,
        sell_out.distributor_code,
        sum(sell_out.amount) as amount
    from {{ ref('fct_sell_out') }} as sell_out
    inner join own_products on sell_out.product_id = own_products.product_id
    inner join ancestors on sell_out.territory_id = ancestors.territory_id
    inner join regions on ancestors.ancestor_territory_id = regions.region_id
    where sell_out.buyer_kind = 'terminal'
        and sell_out.crm_customer_id is not null
        and {{ kpi_months_where('sell_out.month') }}
    group by sell_out.sale_date, sell_out.month, ancestors.ancestor_territory_id,
        sell_out.distributor_code
)

select * from region_daily_sales
