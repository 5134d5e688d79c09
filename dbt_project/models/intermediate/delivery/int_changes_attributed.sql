-- Each change (a pull request merged into its repository's default branch) with the
-- deployment that shipped it and its lead time. Attribution: the earliest successful
-- production deployment (rollbacks included, any production environment; smallest
-- deployed_at, then id) whose shipped commits contain the PR's merge_commit_sha ('compare');
-- else the earliest one of its repository deployed at or after merged_at ('time').
with

pull_requests as (

    select * from {{ ref('int_pull_requests_classified') }}

),

pr_commits as (

    select * from {{ ref('stg_github__pr_commits') }}

),

commits_shipped as (

    select * from {{ ref('int_commits_shipped') }}

),

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

changes as (

    select * from pull_requests
    where is_change

),

first_commits as (

    select
        repo,
        pr_number,
        min(authored_at) as first_commit_at
    from pr_commits
    group by repo, pr_number

),

compare_matches as (

    select
        changes.repo,
        changes.pr_number,
        commits_shipped.deployment_id,
        commits_shipped.deployed_at,
        row_number() over (
            partition by changes.repo, changes.pr_number
            order by commits_shipped.deployed_at, commits_shipped.deployment_id
        ) as match_rank
    from changes
    inner join commits_shipped
        on
            changes.repo = commits_shipped.repo
            and changes.merge_commit_sha = commits_shipped.commit_sha

),

time_matches as (

    select
        changes.repo,
        changes.pr_number,
        deployments.deployment_id,
        deployments.deployed_at,
        row_number() over (
            partition by changes.repo, changes.pr_number
            order by deployments.deployed_at, deployments.deployment_id
        ) as match_rank
    from changes
    inner join deployments
        on
            changes.repo = deployments.repo
            and deployments.succeeded
            and changes.merged_at <= deployments.deployed_at

),

attributed as (

    select
        changes.repo,
        changes.team,
        changes.pr_number,
        changes.author,
        changes.category,
        changes.merge_commit_sha,
        coalesce(first_commits.first_commit_at, changes.created_at) as first_commit_at,
        changes.created_at,
        changes.merged_at,
        coalesce(compare_matches.deployed_at, time_matches.deployed_at) as deployed_at,
        coalesce(compare_matches.deployment_id, time_matches.deployment_id) as deployment_id,
        case
            when compare_matches.deployment_id is not null then 'compare'
            when time_matches.deployment_id is not null then 'time'
        end as attribution
    from changes
    left join first_commits
        on
            changes.repo = first_commits.repo
            and changes.pr_number = first_commits.pr_number
    left join compare_matches
        on
            changes.repo = compare_matches.repo
            and changes.pr_number = compare_matches.pr_number
            and compare_matches.match_rank = 1
    left join time_matches
        on
            changes.repo = time_matches.repo
            and changes.pr_number = time_matches.pr_number
            and time_matches.match_rank = 1

),

timed as (

    select
        *,
        {{ seconds_between('first_commit_at', 'deployed_at') }} / 3600.0 as lead_time_hours,
        greatest(
            {{ seconds_between('first_commit_at', 'created_at') }} / 3600.0, 0.0
        ) as coding_hours,
        {{ seconds_between('created_at', 'merged_at') }} / 3600.0 as review_hours,
        {{ seconds_between('merged_at', 'deployed_at') }} / 3600.0 as deploy_hours
    from attributed

),

final as (

    select * from timed

)

select * from final
