{#- incremental by month: a month's rows read the alignments in force at its end, and a
    changed alignment (a master snapshot) rebuilds every month
    (macros/incremental_kpi_months.sql); Parquet on Spark like the marts, partitioned by month -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    file_format='parquet',
    pre_hook="{{ kpi_delete_rebuilt_months() }}"
) }}
-- one row per month, customer and product line: the territory the customer is aligned to on
-- the last day of the month. valid_to is read as inclusive; when two rows both cover the day
-- (a hand-over written with equal valid_to and valid_from) the later valid_from wins.
with alignments as (
    select * from {{ ref('stg_master__customer_alignments') }}
),

months as (
    select * from {{ ref('int_months_with_data') }}
    where {{ kpi_months_where('month') }}
),

valid_at_month_end as (
    select
        months.month,
        alignments.crm_customer_id,
        alignments.product_line,
        alignments.territory_id,
        row_number() over (
            partition by months.month, alignments.crm_customer_id, alignments.product_line
            order by alignments.valid_from desc, alignments.territory_id
        ) as recency_rank
    from months
    inner join alignments
        on alignments.valid_from <= months.month_end
        and (alignments.valid_to is null or alignments.valid_to >= months.month_end)
),

final as (
    select month, crm_customer_id, product_line, territory_id
    from valid_at_month_end
    where recency_rank = 1
)

select * from final
