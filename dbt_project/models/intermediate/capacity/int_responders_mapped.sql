-- Every PagerDuty user who responded to an incident, mapped to an engineer: the catalog
-- member with that PagerDuty user id; else a member without a PagerDuty id whose e-mail
-- equals the user's (case-insensitive); else the user counts on their own in 'unassigned'.
-- engineer_id: 'github:<login>' for members, 'pagerduty:<user id>' for users outside the
-- catalog (never joined with an unmapped GitHub login).
with

responders as (

    select * from {{ ref('int_incident_responders_aggregated') }}

),

users as (

    select * from {{ ref('stg_pagerduty__users') }}

),

members as (

    select * from {{ ref('int_members_deduplicated') }}

),

responder_users as (

    select distinct
        responders.user_id,
        users.email
    from responders
    left join users
        on responders.user_id = users.user_id

),

members_by_id as (

    select
        pagerduty_user_id,
        github_login,
        team,
        row_number() over (
            partition by pagerduty_user_id order by team, github_login
        ) as member_rank
    from members
    where pagerduty_user_id is not null

),

members_by_email as (

    select
        email,
        github_login,
        team,
        row_number() over (
            partition by email order by team, github_login
        ) as member_rank
    from members
    where pagerduty_user_id is null and email is not null

),

mapped as (

    select
        responder_users.user_id,
        case
            when members_by_id.github_login is not null
                then 'github:' || members_by_id.github_login
            when members_by_email.github_login is not null
                then 'github:' || members_by_email.github_login
            else 'pagerduty:' || responder_users.user_id
        end as engineer_id,
        coalesce(members_by_id.team, members_by_email.team, 'unassigned') as team,
        case
            when members_by_id.github_login is not null then 'pagerduty_id'
            when members_by_email.github_login is not null then 'email'
        end as mapped_by
    from responder_users
    left join members_by_id
        on
            responder_users.user_id = members_by_id.pagerduty_user_id
            and members_by_id.member_rank = 1
    left join members_by_email
        on
            responder_users.email = members_by_email.email
            and members_by_email.member_rank = 1

),

final as (

    select * from mapped

)

select * from final
