{#- Product lines (sources.md: products.product_line, customer_alignment.product_line). A CRM
    export writes the same line as 'CV', ' CV ', 'ＣＶ' or 'cv': values are compared on a key
    (half-width, spaces collapsed, trimmed, upper case), never on the text as written. -#}

{#- Full-width ASCII (U+FF01-U+FF5E) and the ideographic space → their half-width forms;
    runs of whitespace → one space; trimmed; empty → NULL. Case is kept (for display). -#}
{% macro normalise_label(column) -%}
    {#- the apostrophe as chr(39): a doubled quote inside a literal is not portable to Spark -#}
    {%- set half_width -%}
        translate(cast({{ column }} as {{ dbt.type_string() }}),
            '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
            concat('!"#$%&', chr(39), '()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ '))
    {%- endset -%}
    {%- set whitespace_runs %}'\s+'{% endset -%}
    nullif(trim({{ regexp_replace_all(half_width, whitespace_runs, "' '") }}), '')
{%- endmacro %}

{#- The comparison key of a label: normalise_label, upper case. -#}
{% macro label_key(column) -%}
    upper({{ normalise_label(column) }})
{%- endmacro %}

{#- An alignment row's product line: 'ALL' when it covers every product (empty, ALL, *, 全部,
    所有, 全产品), else the line as written, normalised. -#}
{% macro normalise_alignment_line(column) -%}
    case
        when {{ normalise_label(column) }} is null then 'ALL'
        when {{ label_key(column) }} in ('ALL', '*', '全部', '所有', '全产品', '全部产品', '所有产品')
            then 'ALL'
        else {{ normalise_label(column) }}
    end
{%- endmacro %}
