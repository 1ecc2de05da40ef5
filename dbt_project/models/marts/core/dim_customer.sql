-- one row per real-world customer of the CRM master, keyed by the stable customer_id
with customers as (
    select * from {{ ref('stg_master__customers') }}
),

customer_ids as (
    select * from {{ ref('stg_matching__customer_ids') }}
),

grades as (
    select * from {{ ref('kpi_customer_grade') }}
),

latest_grade as (
    select crm_customer_id, grade, quarter
    from (
        select
            crm_customer_id,
            grade,
            quarter,
            row_number() over (partition by crm_customer_id order by quarter desc) as recency
        from grades
    ) as ranked
    where recency = 1
),

final as (
    select
        coalesce(
            customer_ids.customer_id,
            {{ dbt.concat(["'crm:'", "customers.crm_customer_id"]) }}
        ) as customer_id,
        customers.crm_customer_id,
        customers.customer_name as name,
        customers.customer_type,
        customers.level,
        customers.province,
        customers.city,
        customers.district,
        customers.beds,
        customers.potential,
        latest_grade.grade,
        latest_grade.quarter as grade_quarter
    from customers
    left join customer_ids on customers.crm_customer_id = customer_ids.crm_customer_id
    left join latest_grade on customers.crm_customer_id = latest_grade.crm_customer_id
)

select * from final
