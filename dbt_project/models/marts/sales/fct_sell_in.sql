{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_months_strategy(),
        partition_by=incremental_months_partition(),
        unique_key='month',
        on_schema_change='append_new_columns'
    )
}}
-- depends_on: {{ ref('stg_audit__file_registry') }}
-- one row per ERP invoice line shipped to a distributor (credit notes negative)
with shipments as (
    select * from {{ ref('stg_sellin__shipments') }}
),

files as (
    select file_id, loaded_at from {{ ref('stg_audit__file_registry') }}
),

final as (
    select
        shipments.ship_date,
        {{ month_key('shipments.ship_date') }} as month,
        shipments.distributor_code,
        shipments.product_id,
        shipments.qty_boxes,
        shipments.amount,
        shipments.invoice_no,
        shipments.line_no,
        shipments.file_id,
        files.loaded_at
    from shipments
    left join files on shipments.file_id = files.file_id
)

select * from final
{% if is_incremental() and not run_var('rebuild_all_months', false) %}
where {{ months_touched_since_last_build('ship_date', ref('stg_sellin__shipments')) }}
{% endif %}
