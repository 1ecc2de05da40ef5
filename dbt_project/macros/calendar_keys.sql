{#- Calendar labels the spec fixes: months 'YYYY-MM', quarters '2026-Q2'.
    dbt has no cross-database date-format macro, so these dispatch per adapter. -#}

{% macro month_key(date_expr) -%}
    {{ return(adapter.dispatch('month_key')(date_expr)) }}
{%- endmacro %}

{% macro default__month_key(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}

{% macro spark__month_key(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}

{% macro quarter_key(date_expr) -%}
    {{ dbt.concat([
        dbt.cast("extract(year from " ~ date_expr ~ ")", dbt.type_string()),
        "'-Q'",
        dbt.cast("extract(quarter from " ~ date_expr ~ ")", dbt.type_string())
    ]) }}
{%- endmacro %}

{#- First day of a 'YYYY-MM' month label. -#}
{% macro month_start(month_expr) -%}
    {{ dbt.cast(dbt.concat([month_expr, "'-01'"]), "date") }}
{%- endmacro %}
