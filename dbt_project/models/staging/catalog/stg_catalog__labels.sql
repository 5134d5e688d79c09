with

source as (

    select * from {{ source('catalog', 'catalog_labels') }}

),

renamed as (

    select
        label,
        category,
        priority_rank
    from source

),

final as (

    select * from renamed

)

select * from final
