-- one row per province with tender results: the company's bids and wins summed over batches
-- and products, the win rate taken from the sums
with tenders as (
    select * from {{ ref('kpi_tender') }}
),

summed as (
    select
        province,
        count(*) as tender_lines,
        sum(bids) as bids,
        sum(wins) as wins,
        sum(case when wins > 0 then 1 else 0 end) as lines_won
    from tenders
    group by province
),

final as (
    select
        province,
        cast(tender_lines as bigint) as tender_lines,
        cast(bids as bigint) as bids,
        cast(wins as bigint) as wins,
        {{ safe_divide('wins', 'bids') }} as win_rate,
        cast(lines_won as bigint) as lines_won
    from summed
)

select * from final
