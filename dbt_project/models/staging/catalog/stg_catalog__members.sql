with

source as (

    select * from {{ source('catalog', 'catalog_members') }}

),

renamed as (

    select
        team,
        github_login,
        pagerduty_user_id,
        lower(trim(email)) as email
    from source

),

final as (

    select * from renamed

)

select * from final
