-- one row per distributor, month and product: the stock reported in the distributor's last
-- stock report dated in that month (products it did not list are absent here, i.e. 0 when the
-- distributor reported that month)
with lines as (
    select * from {{ ref('int_inventory_lines_converted') }}
    where product_id is not null
),

last_report as (
    select distributor_code, month, max(snapshot_date) as snapshot_date
    from {{ ref('int_inventory_lines_converted') }}
    group by distributor_code, month
),

final as (
    select
        last_report.distributor_code,
        last_report.month,
        last_report.snapshot_date,
        lines.product_id,
        sum(lines.qty_boxes) as reported_qty_boxes
    from last_report
    inner join lines
        on last_report.distributor_code = lines.distributor_code
        and last_report.snapshot_date = lines.snapshot_date
    group by last_report.distributor_code, last_report.month, last_report.snapshot_date,
        lines.product_id
)

select * from final
