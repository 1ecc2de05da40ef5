{#- incremental by month, the months kpi_channel_inventory rebuilds -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_months_since_first_change() }}"
) }}
-- one row per month of kpi_channel_inventory: the channel's headline counts for the inventory
-- page (distributors over the DOI threshold, without flow, rows with a variance, closing stock)
with inventory as (
    select * from {{ ref('kpi_channel_inventory') }}
    where {{ kpi_months_since_first_change('month') }}
),

summed as (
    select
        month,
        count(distinct distributor_code) as distributors,
        count(distinct case
            when days_of_inventory > {{ var('doi_threshold_days') }} then distributor_code
        end) as distributors_over_doi,
        count(distinct case when sales_qty is null then distributor_code end)
            as distributors_without_flow,
        sum(case when variance_qty <> 0 then 1 else 0 end) as distributor_products_with_variance,
        sum(coalesce(reported_closing_qty, computed_closing_qty)) as closing_qty
    from inventory
    group by month
),

final as (
    select
        month,
        cast(distributors as bigint) as distributors,
        cast(distributors_over_doi as bigint) as distributors_over_doi,
        cast(distributors_without_flow as bigint) as distributors_without_flow,
        cast(distributor_products_with_variance as bigint) as distributor_products_with_variance,
        cast(closing_qty as double) as closing_qty,
        cast({{ var('doi_threshold_days') }} as double) as doi_threshold_days
    from summed
)

select * from final
