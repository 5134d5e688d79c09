-- The data's as-of time: the APIs' own clock at the last successful sync, the earliest
-- across every stream that has one (a source synced last night holds nothing newer than
-- that, whatever the others hold). One row; NULL before any successful sync, and then no
-- period is complete.
with

sync_status as (

    select * from {{ ref('stg_pipeline__sync_status') }}

),

final as (

    select min(as_of) as as_of
    from sync_status

)

select * from final
