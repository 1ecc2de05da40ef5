-- one row per customer, territory, product line and validity period (effective-dated
-- alignment; valid_to NULL = still aligned). Sales are credited on the transaction date.
with alignments as (
    select * from {{ ref('stg_master__customer_alignments') }}
),

final as (
    select
        crm_customer_id,
        territory_id,
        product_line,
        valid_from,
        valid_to
    from alignments
)

select * from final
