-- Each incident with the deployment it is attributed to: the latest successful production
-- deployment (rollbacks included), of a repository whose team owns the incident's service,
-- deployed in [created_at - window, created_at); ties on deployed_at go to the larger id.
with

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

team_services as (

    select * from {{ ref('stg_catalog__team_services') }}

),

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

team_incidents as (

    select
        incidents.incident_id,
        incidents.service_id,
        team_services.team,
        incidents.created_at
    from incidents
    inner join team_services
        on incidents.service_id = team_services.service_id

),

candidates as (

    select
        team_incidents.incident_id,
        team_incidents.team,
        team_incidents.created_at,
        deployments.deployment_id,
        deployments.deployed_at,
        row_number() over (
            partition by team_incidents.incident_id
            order by deployments.deployed_at desc, deployments.deployment_id desc
        ) as candidate_rank
    from team_incidents
    cross join settings
    inner join deployments
        on
            team_incidents.team = deployments.team
            and deployments.succeeded
            and team_incidents.created_at > deployments.deployed_at
            and {{ seconds_between('deployments.deployed_at', 'team_incidents.created_at') }}
            <= settings.incident_window_hours * 3600

),

final as (

    select
        incident_id,
        team,
        created_at,
        deployment_id,
        deployed_at
    from candidates
    where candidate_rank = 1

)

select * from final
