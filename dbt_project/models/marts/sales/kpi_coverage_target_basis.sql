-- one row per month: where kpi_coverage's target list comes from, so a chart can say when it
-- changed. 'level' (三甲/三乙) until a quarter has been graded, then 'grade' (A-C of the
-- latest quarter ended before the month, the same rule as kpi_coverage)
with months as (
    select * from {{ ref('int_months_with_data') }}
),

graded as (
    select distinct quarter, quarter_end from {{ ref('kpi_customer_grade') }}
),

grade_quarter_of_month as (
    select
        months.month,
        max(graded.quarter) as grade_quarter
    from months
    left join graded on graded.quarter_end < months.month_start
    group by months.month
),

final as (
    select
        month,
        case when grade_quarter is null then 'level' else 'grade' end as target_basis,
        grade_quarter,
        coalesce(
            grade_quarter is not null
            and lag(grade_quarter) over (order by month) is null
            and row_number() over (order by month) > 1,
            false
        ) as is_grading_start
    from grade_quarter_of_month
)

select * from final
