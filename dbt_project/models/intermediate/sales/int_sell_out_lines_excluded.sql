-- one row per flow line in raw that cannot enter fct_sell_out, with the reason (the dbt-side
-- quarantine): together with fct_sell_out it accounts for every loaded flow row exactly once
with mapped as (
    select * from {{ ref('int_sell_out_lines_mapped') }}
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
