{#- incremental by month: a month's row reads that month's sell-in and sell-out only
    (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per month, distributor and product with sell-in (ERP shipments to the distributor)
-- or sell-out (all its net flow rows), in boxes; ratio = sell-in / sell-out
with sell_in as (
    select month, distributor_code, product_id, sum(qty_boxes) as qty
    from {{ ref('fct_sell_in') }}
    where {{ kpi_months_where('month') }}
    group by month, distributor_code, product_id
),

sell_out as (
    select month, distributor_code, product_id, sum(qty_boxes) as qty
    from {{ ref('fct_sell_out') }}
    where {{ kpi_months_where('month') }}
    group by month, distributor_code, product_id
),

final as (
    select
        coalesce(sell_in.month, sell_out.month) as month,
        coalesce(sell_in.distributor_code, sell_out.distributor_code) as distributor_code,
        coalesce(sell_in.product_id, sell_out.product_id) as product_id,
        cast(coalesce(sell_in.qty, 0) as double) as sell_in_qty,
        cast(coalesce(sell_out.qty, 0) as double) as sell_out_qty,
        {{ safe_divide('coalesce(sell_in.qty, 0)', 'sell_out.qty') }} as ratio
    from sell_in
    full outer join sell_out
        on sell_in.month = sell_out.month
        and sell_in.distributor_code = sell_out.distributor_code
        and sell_in.product_id = sell_out.product_id
)

select * from final
