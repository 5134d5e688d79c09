with

source as (

    select * from {{ source('catalog', 'catalog_budget') }}

),

renamed as (

    select
        team,
        category,
        target_share,
        is_override
    from source

),

final as (

    select * from renamed

)

select * from final
