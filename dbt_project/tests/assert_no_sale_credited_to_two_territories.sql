-- each sell-out line is credited to one territory at most, and only matched terminal sales
-- carry a territory
select sell_out_line_id, count(distinct territory_id) as territories
from {{ ref('fct_sell_out') }}
group by sell_out_line_id
having count(*) > 1 or count(distinct territory_id) > 1
union all
select sell_out_line_id, 1
from {{ ref('fct_sell_out') }}
where territory_id is not null
    and (buyer_kind <> 'terminal' or crm_customer_id is null)
