{#- Text functions whose names or arguments differ between DuckDB and Spark. Spark runs with
    spark.sql.parser.escapedStringLiterals (profiles.yml), so a backslash in a literal is a
    backslash on both engines, as regular expressions need. -#}

{#- Every match of `pattern` in `expr` replaced (DuckDB replaces only the first without 'g'). -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- True when `pattern` matches somewhere in `expr` (anchor it with ^...$ for the whole). -#}
{% macro regexp_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_matches')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regexp_matches(expr, pattern) -%}
    ({{ expr }} rlike {{ pattern }})
{%- endmacro %}

{#- The distinct non-NULL values of `expr`, sorted, joined by `sep`; NULL when there are none.
    (A FILTER: write `case when cond then expr end` as `expr`.) -#}
{% macro string_agg_distinct(expr, sep) -%}
    {{ return(adapter.dispatch('string_agg_distinct')(expr, sep)) }}
{%- endmacro %}

{% macro default__string_agg_distinct(expr, sep) -%}
    string_agg(distinct {{ expr }}, {{ sep }} order by {{ expr }})
{%- endmacro %}

{#- (not listagg(distinct ...) within group: Spark 4.3 fails on it in this query shape) -#}
{% macro spark__string_agg_distinct(expr, sep) -%}
    case when count({{ expr }}) > 0
        then array_join(array_sort(collect_set({{ expr }})), {{ sep }}) end
{%- endmacro %}

{#- A SQL string literal for a value from config (a var), so a company name like O'Brien Pharma
    is text, never SQL: DuckDB doubles the quote; Spark (backslash escapes off) splices chr(39). -#}
{% macro sql_literal(value) -%}
    {{ return(adapter.dispatch('sql_literal')(value)) }}
{%- endmacro %}

{% macro default__sql_literal(value) -%}
'{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_literal(value) -%}
    {%- set parts = (value | string).split("'") -%}
    {%- if parts | length == 1 -%}'{{ parts[0] }}'
    {%- else -%}concat({% for part in parts %}'{{ part }}'{% if not loop.last %}, chr(39), {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}
