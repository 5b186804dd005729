from app.delivery.jobs import ATTEMPT_ACTOR, MAX_BATCH, attempt_jobs, merge_attempt_jobs


def test_attempt_jobs_carry_each_deliverys_token_in_batches() -> None:
    jobs = attempt_jobs("tok", [f"dlv_{n}" for n in range(MAX_BATCH + 1)])
    assert [len(job.args[0]) for job in jobs] == [MAX_BATCH, 1]
    assert all(job.actor == ATTEMPT_ACTOR for job in jobs)
    assert set(jobs[0].args[0].values()) == {"tok"}


def test_merging_keeps_every_lease_with_its_own_token() -> None:
    # Given jobs from three publishes, each under its own token
    jobs = [
        *attempt_jobs("a", ["d1", "d2"]),
        *attempt_jobs("b", ["d3"]),
        *attempt_jobs("c", ["d4"]),
    ]
    # When they are merged
    [merged] = merge_attempt_jobs(jobs)
    # Then one job holds all four, each with the token it was leased under
    assert merged.args[0] == {"d1": "a", "d2": "a", "d3": "b", "d4": "c"}
