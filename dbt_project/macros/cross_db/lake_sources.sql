{#- On Spark the sources are the Parquet lake `sfe build` exports (transform/lake.py): one folder per
    source table, <lake>/sources/<schema>/<table>, raw tables partitioned by file_source and
    file_month. Run at the start of every Spark invocation: a view per source, so source()
    resolves to the same names as on DuckDB. A no-op on DuckDB (its sources are tables). -#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('SFE_LAKE_DIR', 'data/lake') ~ '/sources' -%}
        {%- set schemas = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- if node.schema not in schemas -%}
                {%- do schemas.append(node.schema) -%}
                {%- do run_query('create schema if not exists ' ~ node.schema) -%}
            {%- endif -%}
            {%- do run_query('create or replace view ' ~ node.schema ~ '.' ~ node.identifier
                             ~ ' as select * from parquet.`' ~ root ~ '/' ~ node.schema ~ '/'
                             ~ node.identifier ~ '`') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
