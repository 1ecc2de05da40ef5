{#- Schemas are exactly the names the spec fixes (staging, intermediate, marts), not
    <target_schema>_<custom>, so readers can rely on `marts.kpi_coverage`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
