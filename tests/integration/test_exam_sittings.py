"""Sittings and registration through the API, on the real broker and database:
an administrator moves or cancels a sitting, a learner gives a seat up, and
parallel registrations never oversell a sitting, even across two replicas."""
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import select

from services.exam import actions
from services.exam.models import Sitting
from shared.calendar import program_date
from shared.tokens import Principal
from tests.support import exam_flow as flow


def test_a_moved_sitting_keeps_its_candidates_and_a_cancelled_one_releases_them(services, bus):
    sink = bus.sink("exam.sitting-changed")
    services.start("exam")
    admin = services.client("exam", "admin")
    starts = datetime.now(timezone.utc) + timedelta(days=3)
    planned = flow.sitting(services, starts=starts, capacity=5, closes=starts - timedelta(days=1))
    people = [flow.candidate(services, bus) for _ in range(2)]
    regs = [flow.registered(learner, eid, planned["sitting_id"]) for eid, learner, _ in people]

    new_start = starts + timedelta(days=7)
    moved = admin.post(f"/exam/sittings/{planned['sitting_id']}/move",
                       {"starts_at": new_start.isoformat(), "reason": "考点停电"})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == new_start
    assert datetime.fromisoformat(moved.json()["registration_closes_at"]) == new_start - timedelta(days=1)
    assert moved.json()["seats_left"] == 3 and moved.json()["change_reason"] == "考点停电"
    for (eid, learner, _), reg in zip(people, regs):
        mine = learner.get(f"/exam/registrations/{reg['registration_id']}").json()
        assert mine["status"] == "registered" and datetime.fromisoformat(mine["starts_at"]) == new_start
        told = sink.expect("exam.sitting-changed", where=lambda e, r=reg: str(e.data["registration_id"])
                           == r["registration_id"] and e.data["change"] == "moved")
        assert told.data["starts_at"] == new_start and told.data["previous_starts_at"] == starts
        assert told.data["reason"] == "考点停电" and str(told.correlation_id) == eid

    cancelled = admin.post(f"/exam/sittings/{planned['sitting_id']}/cancel", {"reason": "疫情"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["seats_left"] == 5
    for (eid, learner, _), reg in zip(people, regs):
        assert learner.get(f"/exam/registrations/{reg['registration_id']}").json()["status"] == "released"
        told = sink.expect("exam.sitting-changed", where=lambda e, r=reg: str(e.data["registration_id"])
                           == r["registration_id"] and e.data["change"] == "released")
        assert told.data["starts_at"] is None and told.data["previous_starts_at"] == new_start
    sink.drain(quiet=1.0)
    assert len(sink.of_type("exam.sitting-changed")) == 4  # one per registration and change
    listed = [s["sitting_id"] for s in admin.get("/exam/sittings").json()["items"]]
    assert planned["sitting_id"] not in listed
    assert flow.register(people[0][1], people[0][0], planned["sitting_id"]).status_code == 404

    # The released attempt is unused: the candidate registers again as attempt 1.
    other = flow.sitting(services)
    again = flow.registered(people[0][1], people[0][0], other["sitting_id"])
    assert again["attempt_number"] == 1

    # A sitting under way is not moved; a cancelled one is not changed again.
    refused = admin.post(f"/exam/sittings/{other['sitting_id']}/move",
                         {"starts_at": new_start.isoformat(), "reason": "x"})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/sitting-underway"
    assert admin.post(f"/exam/sittings/{planned['sitting_id']}/cancel", {"reason": "x"}).status_code == 404
    assert admin.post(f"/exam/sittings/{other['sitting_id']}/move", {"reason": "x"}).status_code == 422


def test_a_moved_generated_sitting_is_not_generated_again(services):
    container = services.start("exam")
    admin = services.client("exam", "admin")
    generated = [s for s in admin.get("/exam/sittings").json()["items"] if s["origin"] == "generated"]
    first, second = generated[0], generated[1]
    clash = admin.post(f"/exam/sittings/{first['sitting_id']}/move",
                       {"starts_at": second["starts_at"], "reason": "x"})
    assert clash.status_code == 409 and clash.json()["type"] == "/problems/sitting-clash"
    to = datetime.fromisoformat(first["starts_at"]) + timedelta(days=1, hours=3)
    assert admin.post(f"/exam/sittings/{first['sitting_id']}/move",
                      {"starts_at": to.isoformat(), "reason": "节假日调整"}).status_code == 200
    with flow.database(container).transaction() as tx:
        made = actions.generate_sittings(tx.session, program_date(datetime.now(timezone.utc)), 3, 500,
                                         timedelta(hours=24))
        starts = tx.session.scalars(select(Sitting.starts_at)).all()
    assert made == 0 and datetime.fromisoformat(first["starts_at"]) not in starts


def test_a_learner_gives_a_seat_up_before_the_deadline_only(services, bus):
    container = services.start("exam")
    sitting = flow.sitting(services, capacity=1)
    (a_id, a, _), (b_id, b, b_learner) = flow.candidate(services, bus), flow.candidate(services, bus)
    mine = flow.registered(a, a_id, sitting["sitting_id"])
    full = flow.register(b, b_id, sitting["sitting_id"])
    assert full.status_code == 409 and full.json()["type"] == "/problems/sitting-full"

    assert b.post(f"/exam/registrations/{mine['registration_id']}/cancel").status_code == 404  # not b's
    given_up = a.post(f"/exam/registrations/{mine['registration_id']}/cancel")
    assert given_up.status_code == 200 and given_up.json()["status"] == "cancelled"
    assert a.post(f"/exam/registrations/{mine['registration_id']}/cancel").status_code == 409
    theirs = flow.registered(b, b_id, sitting["sitting_id"])  # the seat is free again
    assert theirs["attempt_number"] == 1

    # After registration closed the seat can no longer be given up.
    late = datetime.fromisoformat(theirs["registration_closes_at"]) + timedelta(seconds=1)
    with pytest.raises(actions.RegistrationClosed), flow.database(container).transaction() as tx:
        actions.cancel_registration(tx, uuid.UUID(theirs["registration_id"]), Principal(b_learner, "learner"), late)
    assert b.get(f"/exam/registrations/{theirs['registration_id']}").json()["status"] == "registered"


def test_parallel_registrations_on_two_replicas_never_oversell_a_sitting(services, bus):
    services.start("exam")
    sitting = flow.sitting(services, capacity=4)
    people = [flow.candidate(services, bus) for _ in range(12)]
    with flow.replica(services) as (_, replica_client):
        clients = [services.client("exam", "learner", subject=lid) if i % 2 else
                   replica_client("learner", subject=lid) for i, (_, _, lid) in enumerate(people)]
        pool = eventlet.GreenPool(len(people))
        codes = list(pool.imap(lambda p: flow.register(p[1], p[0][0], sitting["sitting_id"]).status_code,
                               zip(people, clients)))
    assert sorted(codes) == [201] * 4 + [409] * 8
    listed = {s["sitting_id"]: s for s in services.client("exam", "admin").get("/exam/sittings").json()["items"]}
    assert listed[sitting["sitting_id"]]["seats_left"] == 0


def test_a_sitting_onto_an_existing_start_and_level_is_a_conflict_naming_it(services):
    services.start("exam")
    admin = services.client("exam", "admin")
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=40)
    body = {"starts_at": starts.isoformat(), "level": "L4", "capacity": 30}
    first = admin.post("/exam/sittings", body)
    assert first.status_code == 201, first.text
    existing = first.json()["sitting_id"]

    # The same request again (a lost response) answers the sitting it made.
    again = admin.post("/exam/sittings", body)
    assert again.status_code == 200 and again.json()["sitting_id"] == existing

    # A different sitting at that start and level is refused, naming the one there.
    clash = admin.post("/exam/sittings", {**body, "capacity": 50})
    assert clash.status_code == 409, clash.text
    assert clash.json()["type"] == "/problems/sitting-clash" and clash.json()["sitting_id"] == existing

    other = admin.post("/exam/sittings", {**body, "starts_at": (starts + timedelta(hours=5)).isoformat()})
    assert other.status_code == 201
    moved = admin.post(f"/exam/sittings/{other.json()['sitting_id']}/move",
                       {"starts_at": starts.isoformat(), "reason": "合并考场"})
    assert moved.status_code == 409 and moved.json()["sitting_id"] == existing

    # Another level at that start is another sitting; a cancelled one frees its slot.
    assert admin.post("/exam/sittings", {**body, "level": "L3"}).status_code == 201
    assert admin.post(f"/exam/sittings/{existing}/cancel", {"reason": "考点变更"}).status_code == 200
    anew = admin.post("/exam/sittings", {**body, "capacity": 50})
    assert anew.status_code == 201 and anew.json()["sitting_id"] != existing


def test_a_repeated_registration_answers_the_registration_and_the_learner_lists_their_own(services, bus):
    services.start("exam")
    first, second = flow.sitting(services), flow.sitting(services)
    eid, learner, _ = flow.candidate(services, bus)
    made = flow.register(learner, eid, first["sitting_id"])
    assert made.status_code == 201

    # The response was lost: the same request answers the same registration, no second seat.
    again = flow.register(learner, eid, first["sitting_id"])
    assert again.status_code == 200 and again.json() == made.json()
    seats = {s["sitting_id"]: s["seats_left"] for s in
             services.client("exam", "admin").get("/exam/sittings").json()["items"]}
    assert seats[first["sitting_id"]] == first["seats_left"] - 1

    # Another sitting while that one is open: 409 naming the open registration.
    other = flow.register(learner, eid, second["sitting_id"])
    assert other.status_code == 409 and other.json()["type"] == "/problems/already-registered"
    assert other.json()["registration_id"] == made.json()["registration_id"]

    # The learner finds their registrations without knowing an id; nobody else's.
    listed = learner.get("/exam/registrations").json()
    assert listed["total"] == 1 and [r["registration_id"] for r in listed["items"]] == [
        made.json()["registration_id"]]
    _, stranger, _ = flow.candidate(services, bus)
    assert stranger.get("/exam/registrations").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
