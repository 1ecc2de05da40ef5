{#- SQL rules more than one model applies: each has its one owner here. The matching step
    (matching/sources.py, before dbt runs) renders latest_snapshot, buyer_key and spec_key from
    this file with plain Jinja, so these three must stay plain SQL: no ref(), source(), adapter
    or dbt.* inside them (tests/matching/test_shared_rules.py renders them). -#}

{#- The master data in force: the rows of the latest snapshot of a master source (a re-sent
    master replaces the whole list; older snapshots are history). -#}
{% macro latest_snapshot(relation) -%}
    select * from {{ relation }}
    where snapshot_date = (select max(snapshot_date) from {{ relation }})
{%- endmacro %}

{#- The buyer key a flow line and its customer_source_map row join on: a missing buyer code
    is '' (not NULL, which joins nothing). -#}
{% macro buyer_key(column='buyer_code') -%}
    coalesce({{ column }}, '')
{%- endmacro %}

{#- The spec a product name is matched and mapped with: a missing spec is '' (not NULL), so
    flow, inventory and tender rows join their product_source_map row. -#}
{% macro spec_key(column='spec') -%}
    coalesce({{ column }}, '')
{%- endmacro %}

{#- Year to date: the running total of `column` over the months of the row's year, per
    `partition_by` (the rows must carry `year` and `month`). -#}
{% macro year_to_date(column, partition_by) -%}
    sum({{ column }}) over (
            partition by {{ partition_by }}, year
            order by month
            rows between unbounded preceding and current row
        )
{%- endmacro %}
