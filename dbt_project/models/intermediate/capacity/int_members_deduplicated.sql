-- One row per GitHub login of the catalog: the engineer and their team. A login listed by
-- several teams keeps one (the first team by name: the catalog tables carry no file order).
with

members as (

    select * from {{ ref('stg_catalog__members') }}

),

ranked as (

    select
        *,
        row_number() over (partition by github_login order by team) as team_rank
    from members

),

final as (

    select
        github_login,
        team,
        pagerduty_user_id,
        email
    from ranked
    where team_rank = 1

)

select * from final
