-- one row per rep of the latest assignment snapshot, named as on their latest assignment (the
-- one still open, valid_to NULL, else the one ending last; then the latest start): pages show
-- "name (id)" instead of a bare rep_id
with assignments as (
    select * from {{ ref('stg_master__rep_assignments') }}
)

select rep_id, rep_name
from assignments
qualify row_number() over (
    partition by rep_id
    order by valid_to desc nulls first, valid_from desc nulls last, rep_name
) = 1
