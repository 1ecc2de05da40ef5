{#- Incremental facts (fct_*) are replaced month by month on both engines:
    DuckDB   delete+insert on unique_key 'month';
    Spark    insert_overwrite of Parquet partitioned by month (dynamic partition overwrite: the
             months a run selects replace theirs, the others stay). Parquet has no DELETE, so
             `delete_months_of_replaced_files` drops partitions instead. -#}
{% macro incremental_months_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{% macro incremental_months_partition() -%}
    {{ return(['month'] if target.type == 'spark' else none) }}
{%- endmacro %}

{% macro spark__delete_months_of_replaced_files(source_system) -%}
    {%- if is_incremental() and execute -%}
        {%- if var('rebuild_all_months', false) -%}
            truncate table {{ this }}
        {%- else -%}
            {%- set months = run_query('select distinct month from ' ~ this ~ ' where '
                                       ~ months_of_replaced_files(source_system)) -%}
            {%- for month in months.columns[0].values() -%}
                {%- do run_query('alter table ' ~ this ~ " drop if exists partition (month = '"
                                 ~ month ~ "')") -%}
            {%- endfor -%}
            select 1
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
