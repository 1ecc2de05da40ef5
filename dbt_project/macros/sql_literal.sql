{% macro sql_literal(value) -%}
{#- A SQL string literal for a value from config (a var): quotes doubled, so a company name
    like O'Brien Pharma is text, never SQL. -#}
'{{ value | string | replace("'", "''") }}'
{%- endmacro %}
