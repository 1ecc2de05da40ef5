-- opening + purchases - sales = computed closing, for every month the distributor sent flow
select *
from {{ ref('kpi_channel_inventory') }}
where sales_qty is not null
    and abs(opening_qty + purchase_qty - sales_qty - computed_closing_qty) > 0.0001
union all
-- a month without flow has no computed closing (not 0)
select *
from {{ ref('kpi_channel_inventory') }}
where sales_qty is null
    and computed_closing_qty is not null
