with source as (
    select * from {{ source('raw', 'tenders__results') }}
),

renamed as (
    select
        cast(file_id as bigint) as file_id,
        cast(source_row as integer) as source_row,
        province,
        tender_name,
        coalesce(batch, '') as batch,
        cast(announce_date as date) as announce_date,
        cast(result_date as date) as result_date,
        generic_name,
        {{ spec_key('spec') }} as spec,
        bidder,
        result,
        cast(bid_price as double) as bid_price,
        cast(is_volume_based as boolean) as is_volume_based,
        hospital_name
    from source
)

select * from renamed
