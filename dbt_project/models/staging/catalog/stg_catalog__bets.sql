with

source as (

    select * from {{ source('catalog', 'catalog_bets') }}

),

renamed as (

    select
        bet_id,
        -- Team-level marts call the organisation-wide row 'all'.
        coalesce(team, 'all') as team,
        kpi,
        period,
        direction,
        shipped_on,
        baseline_periods,
        evaluation_periods,
        constraint_text,
        bet_text
    from source

),

final as (

    select * from renamed

)

select * from final
