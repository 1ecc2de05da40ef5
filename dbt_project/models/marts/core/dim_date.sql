-- one row per calendar day from 1 January of the first year with data to 31 December of the
-- last; months 'YYYY-MM', quarters '2026-Q2', weeks start Monday
with days as (
    select * from {{ ref('int_dates_spined') }}
),

final as (
    select
        date_day,
        month,
        month_start,
        month_end,
        quarter,
        quarter_start,
        quarter_end,
        year,
        week_start,
        day_of_month,
        iso_day_of_week,
        iso_day_of_week >= 6 as is_weekend
    from days
)

select * from final
