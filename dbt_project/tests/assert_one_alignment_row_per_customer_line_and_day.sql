{{ config(severity='warn') }}
-- One alignment row per customer and product line on any day (sources.md). Two rows of the
-- same line that both cover more than one day with different territories leave the credit to
-- the tie-break (latest valid_from, then territory_id): the alignment file should say it.
-- A hand-over written with valid_to = the next row's valid_from (one shared day) is accepted.
with alignments as (
    select * from {{ ref('bridge_customer_territory') }}
)

select
    earlier.crm_customer_id,
    earlier.product_line,
    earlier.territory_id as territory_a,
    later.territory_id as territory_b,
    later.valid_from as overlap_from,
    least(
        coalesce(earlier.valid_to, date '9999-12-31'), coalesce(later.valid_to, date '9999-12-31')
    ) as overlap_to
from alignments as earlier
inner join alignments as later
    on earlier.crm_customer_id = later.crm_customer_id
    and earlier.product_line = later.product_line
    and earlier.territory_id <> later.territory_id
    and earlier.valid_from <= later.valid_from
    and (earlier.valid_from < later.valid_from or earlier.territory_id < later.territory_id)
    and coalesce(earlier.valid_to, date '9999-12-31') > later.valid_from
    and later.valid_from <= coalesce(later.valid_to, date '9999-12-31')
