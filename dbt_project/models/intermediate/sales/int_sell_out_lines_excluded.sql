{#- incremental by month, like fct_sell_out: a line keeps its month, so only the months sfe
    build names as changed are emptied and selected again (all of them when it names none: a
    first build, changed matches or masters). A line without a date has no month: those are
    read again on every build (`month is null`: no date range can place them). -#}
{{ config(
    materialized='incremental',
    incremental_strategy=kpi_month_strategy(),
    unique_key='month',
    on_schema_change='append_new_columns',
    pre_hook="{{ kpi_delete_rebuilt_months(or_where='month is null') }}"
) }}
-- one row per flow line in raw that cannot enter fct_sell_out, with the reason (the dbt-side
-- quarantine): together with fct_sell_out it accounts for every loaded flow row exactly once
with mapped as (
    select * from {{ ref('int_sell_out_lines_mapped') }}
    where {{ kpi_months_where('month', or_where='month is null') }}
    {%- if kpi_changed_months() is not none %}
        -- the changed months as a date range: prunes the raw scan under the view
        and (sale_date is null or {{ changed_months_date_where('sale_date') }})
    {%- endif %}
),

final as (
    select
        sell_out_line_id,
        file_id,
        sheet,
        source_row,
        source_file,
        distributor_code,
        sale_date,
        month,
        raw_buyer_name,
        raw_product,
        raw_spec,
        unit,
        quantity,
        exclusion_reason
    from mapped
    where exclusion_reason is not null
)

select * from final
