{#- incremental by quarter: a quarter's grades read its calls and the 12 months of sell-out up
    to its end, so a change in month m moves the quarters of m .. m + 9 months; those are
    emptied and rebuilt, reading sell-out from 9 months before the first of them
    (macros/incremental_kpi_months.sql) -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='quarter',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_quarters(after=9) }}"
) }}
-- one row per quarter (from the first quarter with data) and customer of the master: the
-- ABCD grade from potential, 12-month own sell-out and calls, each min-max normalised within
-- the customer's type, weighted (seed grading_weights) and cut by cumulative score share
with customers as (
    select * from {{ ref('stg_master__customers') }}
),

months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_quarters_where('quarter', after=9) }}
),

sell_out as (
    select * from {{ ref('fct_sell_out') }}
    where {{ kpi_quarters_read_from('month', after=9, back=9) }}
),

calls as (
    select * from {{ ref('fct_calls') }}
    where {{ kpi_quarters_read_from('month', after=9) }}
),

products as (
    select * from {{ ref('stg_master__products') }}
),

weights as (
    select
        max(case when input_name = 'potential' then weight end) as potential_weight,
        max(case when input_name = 'sell_out' then weight end) as sell_out_weight,
        max(case when input_name = 'calls' then weight end) as calls_weight
    from {{ ref('grading_weights') }}
),

cutoffs as (
    select
        max(case when grade = 'A' then share_above_below end) as a_below,
        max(case when grade = 'B' then share_above_below end) as b_below,
        max(case when grade = 'C' then share_above_below end) as c_below
    from {{ ref('grade_cutoffs') }}
),

quarters as (
    select
        quarter,
        cast({{ dbt.date_trunc('quarter', 'min(month_start)') }} as date) as quarter_start,
        cast({{ dbt.last_day('min(month_start)', 'quarter') }} as date) as quarter_end
    from months
    group by quarter
),

sell_out_12m as (
    select
        quarters.quarter,
        sell_out.crm_customer_id,
        sum(sell_out.amount) as amount
    from quarters
    inner join sell_out
        on sell_out.sale_date >= {{ dbt.dateadd('month', -9, 'quarters.quarter_start') }}
        and sell_out.sale_date <= quarters.quarter_end
    inner join products
        on sell_out.product_id = products.product_id
        and products.is_own
    where sell_out.buyer_kind = 'terminal'
        and sell_out.crm_customer_id is not null
    group by quarters.quarter, sell_out.crm_customer_id
),

calls_in_quarter as (
    select
        quarters.quarter,
        calls.crm_customer_id,
        count(*) as calls
    from quarters
    inner join calls
        on calls.call_date between quarters.quarter_start and quarters.quarter_end
    group by quarters.quarter, calls.crm_customer_id
),

inputs as (
    select
        quarters.quarter,
        quarters.quarter_end,
        customers.crm_customer_id,
        customers.customer_type,
        coalesce(customers.potential, 0) as potential,
        coalesce(sell_out_12m.amount, 0) as sell_out_amount_12m,
        coalesce(calls_in_quarter.calls, 0) as calls_in_quarter
    from quarters
    cross join customers
    left join sell_out_12m
        on quarters.quarter = sell_out_12m.quarter
        and customers.crm_customer_id = sell_out_12m.crm_customer_id
    left join calls_in_quarter
        on quarters.quarter = calls_in_quarter.quarter
        and customers.crm_customer_id = calls_in_quarter.crm_customer_id
),

ranges as (
    select
        inputs.*,
        min(potential) over (partition by quarter, customer_type) as potential_min,
        max(potential) over (partition by quarter, customer_type) as potential_max,
        min(sell_out_amount_12m) over (partition by quarter, customer_type) as sell_out_min,
        max(sell_out_amount_12m) over (partition by quarter, customer_type) as sell_out_max,
        min(calls_in_quarter) over (partition by quarter, customer_type) as calls_min,
        max(calls_in_quarter) over (partition by quarter, customer_type) as calls_max
    from inputs
),

scored as (
    select
        ranges.quarter,
        ranges.quarter_end,
        ranges.crm_customer_id,
        ranges.customer_type,
        ranges.potential,
        ranges.sell_out_amount_12m,
        ranges.calls_in_quarter,
        weights.potential_weight * coalesce(
            (ranges.potential - ranges.potential_min)
            / nullif(ranges.potential_max - ranges.potential_min, 0), 0)
        + weights.sell_out_weight * coalesce(
            (ranges.sell_out_amount_12m - ranges.sell_out_min)
            / nullif(ranges.sell_out_max - ranges.sell_out_min, 0), 0)
        + weights.calls_weight * coalesce(
            cast(ranges.calls_in_quarter - ranges.calls_min as double)
            / nullif(ranges.calls_max - ranges.calls_min, 0), 0)
        as score
    from ranges
    cross join weights
),

ranked as (
    select
        scored.*,
        row_number() over (
            partition by quarter, customer_type
            order by score desc, crm_customer_id
        ) as score_rank,
        coalesce(sum(score) over (
            partition by quarter, customer_type
            order by score desc, crm_customer_id
            rows between unbounded preceding and 1 preceding
        ), 0) as score_above,
        sum(score) over (partition by quarter, customer_type) as type_total_score
    from scored
),

shares as (
    select
        ranked.*,
        case
            when type_total_score > 0 then score_above / type_total_score
            when score_rank = 1 then 0.0
            else 1.0
        end as share_above
    from ranked
),

final as (
    select
        shares.quarter,
        shares.crm_customer_id,
        cast(shares.score as double) as score,
        case
            when shares.share_above < cutoffs.a_below then 'A'
            when shares.share_above < cutoffs.b_below then 'B'
            when shares.share_above < cutoffs.c_below then 'C'
            else 'D'
        end as grade,
        shares.quarter_end,
        shares.customer_type,
        cast(shares.potential as double) as potential,
        cast(shares.sell_out_amount_12m as double) as sell_out_amount_12m,
        cast(shares.calls_in_quarter as bigint) as calls_in_quarter,
        cast(shares.score_rank as bigint) as score_rank,
        cast(shares.share_above as double) as share_above
    from shares
    cross join cutoffs
)

select * from final
