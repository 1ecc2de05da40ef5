{#- incremental by month: the running stock carries a change in month m to every later month,
    so a run rebuilds every month from the first changed one (F), starting from the stored rows
    of the two months before F (the opening balance and the 3-month DOI window); F always
    opens a segment whose base is the stored closing (reported, else computed) of F - 1, which
    is what the full build carries into F (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_months_since_first_change() }}"
) }}
{%- set rebuilt = kpi_months_since_first_change('month') %}
-- one row per month, distributor and product from the first month the pair shows any
-- activity (进销存): opening + purchases - sales = computed closing, against the stock reported.
-- opening = previous reported closing, else previous computed closing, else 0. A month the
-- distributor sent no flow has NULL sales and NULL computed closing.
-- The running balance is computed without recursion: a new "segment" starts whenever the
-- opening is not the previous computed closing (first month, previous month reported, or
-- previous month without flow); inside a segment closing = segment base + running net.
with months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ rebuilt }}
),

sell_in as (
    select month, distributor_code, product_id, sum(qty_boxes) as qty
    from {{ ref('fct_sell_in') }}
    where {{ rebuilt }}
    group by month, distributor_code, product_id
),

flow_purchases as (
    select month, buyer_distributor_code as distributor_code, product_id, sum(qty_boxes) as qty
    from {{ ref('fct_sell_out') }}
    where buyer_kind = 'distributor'
        and buyer_distributor_code is not null
        and {{ rebuilt }}
    group by month, buyer_distributor_code, product_id
),

flow_sales as (
    select month, distributor_code, product_id, sum(qty_boxes) as qty
    from {{ ref('fct_sell_out') }}
    where {{ rebuilt }}
    group by month, distributor_code, product_id
),

reported as (
    select * from {{ ref('int_inventory_snapshots_monthly') }}
    where {{ rebuilt }}
),

reports as (
    select * from {{ ref('int_distributor_reports_monthly') }}
    where {{ rebuilt }}
),

-- the stored rows of the two months before the first rebuilt one (none on a full build)
carried as (
{%- if kpi_first_rebuilt_month() is not none %}
    select
        stored.month,
        calendar.month_index,
        calendar.days_in_month,
        stored.distributor_code,
        stored.product_id,
        stored.purchase_qty,
        stored.sales_qty,
        stored.reported_closing_qty,
        stored.computed_closing_qty
    from {{ this }} as stored
    inner join {{ ref('int_months_with_data') }} as calendar on stored.month = calendar.month
    where {{ kpi_months_since_first_change('stored.month', back=2) }}
        and not {{ kpi_months_since_first_change('stored.month') }}
{%- else %}
    select
        month,
        month_index,
        days_in_month,
        cast(null as {{ dbt.type_string() }}) as distributor_code,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as double) as purchase_qty,
        cast(null as double) as sales_qty,
        cast(null as double) as reported_closing_qty,
        cast(null as double) as computed_closing_qty
    from months
    where 1 = 0
{%- endif %}
),

pair_months as (
    select month, distributor_code, product_id from sell_in
    union
    select month, distributor_code, product_id from flow_purchases
    union
    select month, distributor_code, product_id from flow_sales
    union
    select month, distributor_code, product_id from reported
    union
    select month, distributor_code, product_id from carried
),

pairs as (
    select distributor_code, product_id, min(month) as first_month
    from pair_months
    group by distributor_code, product_id
),

scaffold as (
    select
        months.month,
        months.month_index,
        months.days_in_month,
        pairs.distributor_code,
        pairs.product_id
    from pairs
    inner join months on months.month >= pairs.first_month
),

monthly as (
    select
        scaffold.*,
        cast(null as double) as carried_closing_qty,
        coalesce(sell_in.qty, 0) + coalesce(flow_purchases.qty, 0) as purchase_qty,
        case
            when coalesce(reports.has_flow, false) or flow_sales.qty is not null
                then coalesce(flow_sales.qty, 0)
        end as sales_qty,
        case
            when coalesce(reports.has_stock_report, false) then coalesce(reported.reported_qty_boxes, 0)
        end as reported_closing_qty
    from scaffold
    left join sell_in
        on scaffold.month = sell_in.month
        and scaffold.distributor_code = sell_in.distributor_code
        and scaffold.product_id = sell_in.product_id
    left join flow_purchases
        on scaffold.month = flow_purchases.month
        and scaffold.distributor_code = flow_purchases.distributor_code
        and scaffold.product_id = flow_purchases.product_id
    left join flow_sales
        on scaffold.month = flow_sales.month
        and scaffold.distributor_code = flow_sales.distributor_code
        and scaffold.product_id = flow_sales.product_id
    left join reported
        on scaffold.month = reported.month
        and scaffold.distributor_code = reported.distributor_code
        and scaffold.product_id = reported.product_id
    left join reports
        on scaffold.month = reports.month
        and scaffold.distributor_code = reports.distributor_code
),

monthly_and_carried as (
    select
        month,
        month_index,
        days_in_month,
        distributor_code,
        product_id,
        carried_closing_qty,
        purchase_qty,
        sales_qty,
        reported_closing_qty,
        0 as is_carried
    from monthly
    union all
    select
        month,
        month_index,
        days_in_month,
        distributor_code,
        product_id,
        coalesce(computed_closing_qty, 0) as carried_closing_qty,
        purchase_qty,
        sales_qty,
        reported_closing_qty,
        1 as is_carried
    from carried
),

with_previous as (
    select
        monthly_and_carried.*,
        lag(reported_closing_qty) over (
            partition by distributor_code, product_id order by month
        ) as previous_reported_qty,
        lag(carried_closing_qty) over (
            partition by distributor_code, product_id order by month
        ) as previous_carried_qty,
        lag(month_index) over (
            partition by distributor_code, product_id order by month
        ) as previous_month_index,
        lag(case when sales_qty is null then 1 else 0 end) over (
            partition by distributor_code, product_id order by month
        ) as previous_had_no_flow
    from monthly_and_carried
),

segment_starts as (
    select
        with_previous.*,
        case
            when previous_month_index is null then 1
            when previous_reported_qty is not null then 1
            when previous_had_no_flow = 1 then 1
            when previous_carried_qty is not null then 1
            else 0
        end as is_segment_start
    from with_previous
),

segments as (
    select
        segment_starts.*,
        sum(is_segment_start) over (
            partition by distributor_code, product_id
            order by month
            rows between unbounded preceding and current row
        ) as segment_id
    from segment_starts
),

balances as (
    select
        segments.*,
        max(case
            when is_segment_start = 1
                then coalesce(previous_reported_qty, previous_carried_qty, 0)
        end) over (
            partition by distributor_code, product_id, segment_id
        ) as segment_base_qty,
        sum(purchase_qty - sales_qty) over (
            partition by distributor_code, product_id, segment_id
            order by month
            rows between unbounded preceding and current row
        ) as running_net_qty
    from segments
),

closings as (
    select
        balances.*,
        case
            when sales_qty is not null then segment_base_qty + running_net_qty
        end as computed_closing_qty
    from balances
),

with_opening as (
    select
        closings.*,
        case
            when is_segment_start = 1
                then coalesce(previous_reported_qty, previous_carried_qty, 0)
            else lag(computed_closing_qty) over (
                partition by distributor_code, product_id order by month
            )
        end as opening_qty,
        sum(sales_qty) over (
            partition by distributor_code, product_id
            order by month
            rows between 2 preceding and current row
        ) as sales_qty_3m,
        sum(case when sales_qty is not null then days_in_month end) over (
            partition by distributor_code, product_id
            order by month
            rows between 2 preceding and current row
        ) as days_3m
    from closings
),

final as (
    select
        month,
        distributor_code,
        product_id,
        cast(opening_qty as double) as opening_qty,
        cast(purchase_qty as double) as purchase_qty,
        cast(sales_qty as double) as sales_qty,
        cast(computed_closing_qty as double) as computed_closing_qty,
        cast(reported_closing_qty as double) as reported_closing_qty,
        cast(reported_closing_qty - computed_closing_qty as double) as variance_qty,
        case
            when sales_qty_3m > 0 and days_3m > 0
                then cast(coalesce(reported_closing_qty, computed_closing_qty) as double)
                    / (cast(sales_qty_3m as double) / days_3m)
        end as days_of_inventory
    from with_opening
    where is_carried = 0
)

select * from final
