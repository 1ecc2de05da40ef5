-- each sell-out line is credited to one territory at most, and only matched terminal sales
-- carry a territory. A row of fct_sell_out holds one territory, so a line credited twice is
-- its id on two rows: fct_sell_out's `unique` test on sell_out_line_id fails on it (and
-- assert_every_flow_row_in_fct_once_or_excluded too); counting the ids again here was a
-- second group-by over every line (3.5 of the first build's node seconds at 10 M rows).
-- This test checks the rest: a territory only on a matched terminal sale. A line id names one
-- row of one file, so its month is fixed: on a build with kpi_changed_months only those
-- months are read (the others passed before).
select sell_out_line_id, 1 as credited_rows
from {{ ref('fct_sell_out') }}
where {{ changed_months_test_where('month') }}
    and territory_id is not null
    and (buyer_kind <> 'terminal' or crm_customer_id is null)
