{#- Boxes per unit as written on a distributor line: the matched product's factors first
    (`product_map`), else the master's pack and case sizes (`products`). One definition for
    flow and stock lines so their quantities can never be converted differently. -#}
{% macro box_factor(unit, product_map='product_map', products='products') -%}
    case {{ unit }}
        when 'box' then 1.0
        when 'min_unit' then coalesce(
            {{ product_map }}.box_factor_min_unit, 1.0 / nullif({{ products }}.pack_size, 0))
        when 'case' then coalesce({{ product_map }}.box_factor_case, {{ products }}.case_size)
    end
{%- endmacro %}
