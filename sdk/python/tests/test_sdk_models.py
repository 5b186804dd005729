from herald_sdk import Replay, ReplayActor


def test_a_replay_names_who_started_it() -> None:
    started = Replay.from_json(
        {"id": "rpl_1", "status": "running", "actor": {"kind": "api_key", "id": "key_1"}}
    )
    assert started.actor == ReplayActor(kind="api_key", id="key_1")
    # Replays from before actors were recorded, and CLI runs without a user, parse too
    assert Replay.from_json({"id": "rpl_2", "status": "completed", "actor": None}).actor is None
    cli = Replay.from_json({"id": "rpl_3", "status": "completed", "actor": {"kind": "cli"}})
    assert cli.actor == ReplayActor(kind="cli", id=None)
