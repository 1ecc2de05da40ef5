{#- Small portable helpers where dbt's cross-db macros stop short. -#}

{#- Ratio with the spec's rule: a zero (or missing) denominator gives NULL, never 0. -#}
{% macro safe_divide(numerator, denominator) -%}
    case
        when {{ denominator }} is null or {{ denominator }} = 0 then null
        else cast({{ numerator }} as double)
            / cast({{ denominator }} as double)
    end
{%- endmacro %}

{#- True when `needle` occurs in `haystack` (case-sensitive). -#}
{% macro contains_text(haystack, needle) -%}
    ({{ dbt.position(needle, haystack) }} > 0)
{%- endmacro %}
