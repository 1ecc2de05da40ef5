{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_months_strategy(),
        partition_by=incremental_months_partition(),
        unique_key='month',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_months_of_replaced_files('flow') }}"
    )
}}
-- depends_on: {{ ref('stg_audit__file_registry') }}
-- depends_on: {{ ref('stg_flow__lines') }}
-- one row per usable flow line (net of returns: returns are negative)
with credited as (
    select * from {{ ref('int_sell_out_lines_credited') }}
),

final as (
    select
        sale_date,
        month,
        distributor_code,
        buyer_kind,
        crm_customer_id,
        raw_buyer_name,
        product_id,
        cast(qty_boxes as double) as qty_boxes,
        cast(amount as double) as amount,
        territory_id,
        source_file,
        source_row,
        sell_out_line_id,
        file_id,
        sheet,
        buyer_code,
        buyer_distributor_code,
        customer_match_status,
        doc_type,
        loaded_at
    from credited
)

select * from final
{% if is_incremental() and not run_var('rebuild_all_months', false) %}
where ({{ months_touched_since_last_build('sale_date', ref('stg_flow__lines'), 'flow') }})
    -- sfe build's changed months (a superset of those) as a date range: prunes the raw scan
    and {{ changed_months_date_where('sale_date') }}
{% endif %}
