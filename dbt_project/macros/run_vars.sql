{#- A value `sfe build` sets for one run only: the changed months (`kpi_changed_months`) and
    `rebuild_all_months`. Given with --vars (by hand, unit tests' overrides) it is taken from
    there; else from the environment variable SFE_RUN_<NAME> (JSON) that `sfe build` sets.
    sfe does not pass them as --vars because dbt parses the whole project again whenever the
    --vars change (~7 s of every incremental build); an environment variable read only while
    a model compiles (under is_incremental()) or by the few tests that read it costs a
    re-parse of those files only. -#}
{% macro run_var(name, default=none) -%}
    {%- set given = var(name, none) -%}
    {%- if given is not none -%}
        {{ return(given) }}
    {%- endif -%}
    {%- set text = env_var('SFE_RUN_' ~ (name | upper), '') -%}
    {{ return(fromjson(text) if text else default) }}
{%- endmacro %}
