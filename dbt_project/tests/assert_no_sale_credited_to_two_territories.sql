-- each sell-out line is credited to one territory at most, and only matched terminal sales
-- carry a territory. A line id names one row of one file, so its duplicates share its month:
-- on a build with kpi_changed_months only those months are read (the others passed before)
with lines as (
    select * from {{ ref('fct_sell_out') }}
    where {{ changed_months_test_where('month') }}
)

-- a row holds one territory, so two territories are two rows: counting rows suffices (a
-- count(distinct) here cost 5x the key's unique test at 10 M rows)
select sell_out_line_id, count(*) as credited_rows
from lines
group by sell_out_line_id
having count(*) > 1
union all
select sell_out_line_id, 1
from lines
where territory_id is not null
    and (buyer_kind <> 'terminal' or crm_customer_id is null)
