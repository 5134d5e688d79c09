-- Every production deployment, failed or not, from the repository's deployment signal: the
-- Deployments API (environment matching the catalog's production pattern; succeeded at its
-- first success status) or, for repositories set to workflow_runs, the completed runs on the
-- default branch of a workflow whose name matches the repository's pattern.
with

deployments as (

    select * from {{ ref('stg_github__deployments') }}

),

deployment_statuses as (

    select * from {{ ref('stg_github__deployment_statuses') }}

),

workflow_runs as (

    select * from {{ ref('stg_github__workflow_runs') }}

),

repositories as (

    select * from {{ ref('stg_github__repositories') }}

),

catalog_repositories as (

    select * from {{ ref('stg_catalog__repositories') }}

),

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

first_successes as (

    select
        deployment_id,
        min(created_at) as deployed_at
    from deployment_statuses
    where state = 'success'
    group by deployment_id

),

api_deployments as (

    select
        deployments.deployment_id,
        deployments.repo,
        catalog_repositories.team,
        'deployments' as deployment_signal,
        deployments.environment,
        deployments.sha,
        deployments.task,
        deployments.description,
        deployments.created_at,
        first_successes.deployed_at
    from deployments
    cross join settings
    left join catalog_repositories
        on deployments.repo = catalog_repositories.repo
    left join first_successes
        on deployments.deployment_id = first_successes.deployment_id
    where
        coalesce(catalog_repositories.deployment_signal, 'deployments') = 'deployments'
        and {{ regexp_search(
            'deployments.environment', 'settings.production_environment_pattern'
        ) }}

),

run_deployments as (

    select
        workflow_runs.workflow_run_id as deployment_id,
        workflow_runs.repo,
        catalog_repositories.team,
        'workflow_runs' as deployment_signal,
        'production' as environment,
        workflow_runs.head_sha as sha,
        cast(null as {{ dbt.type_string() }}) as task,
        cast(null as {{ dbt.type_string() }}) as description,
        workflow_runs.run_started_at as created_at,
        case
            when workflow_runs.conclusion = 'success' then workflow_runs.updated_at
        end as deployed_at
    from workflow_runs
    cross join settings
    inner join catalog_repositories
        on workflow_runs.repo = catalog_repositories.repo
    inner join repositories
        on workflow_runs.repo = repositories.repo
    where
        catalog_repositories.deployment_signal = 'workflow_runs'
        and workflow_runs.status = 'completed'
        and workflow_runs.head_branch = repositories.default_branch
        and {{ regexp_search(
            'workflow_runs.workflow_name',
            'coalesce(catalog_repositories.workflow_pattern, settings.default_workflow_pattern)'
        ) }}

),

unioned as (

    select * from api_deployments
    union all
    select * from run_deployments

),

final as (

    select
        *,
        deployed_at is not null as succeeded
    from unioned

)

select * from final
