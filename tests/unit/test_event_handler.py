"""An `@event_handler` method stays callable as written; the consumer's worker still
runs it over a group of deliveries."""
from shared.contracts import billing, enrollment
from shared.messaging.consumer import EventHandler, Group, event_handler
from tests.support import events


class Service:
    def __init__(self):
        self.seen = []

    @event_handler(billing.Paid)
    def on_one(self, tx, event):
        self.seen.append((tx, event))
        return "done"

    @event_handler(enrollment.Enrolled, batch=True)
    def on_batch(self, tx, events):
        self.seen.append((tx, list(events)))


class FakeTx:
    def caused_by(self, event):
        return ("caused by", event.id)


class FakeGroup(Group):
    def __init__(self, events):
        self.events = events

    def run(self, handle):
        handle(FakeTx(), self.events)


def test_a_handler_is_called_directly_with_its_own_arguments():
    service, paid = Service(), events.paid(events.enrolled())
    assert service.on_one("tx", paid) == "done"
    service.on_batch("tx", events=[paid])
    assert service.seen == [("tx", paid), ("tx", [paid])]
    assert Service.on_one.batch is False and Service.on_batch.batch is True


def test_the_worker_passes_a_group_which_runs_the_handler_per_event_or_per_batch():
    service = Service()
    one, two = events.enrolled(), events.enrolled()
    service.on_one(FakeGroup([one, two]))
    service.on_batch(FakeGroup([one, two]))
    assert service.seen == [(("caused by", one.id), one), (("caused by", two.id), two),
                            (service.seen[2][0], [one, two])]


def test_the_entrypoint_is_still_declared():
    [entrypoint] = Service.on_one.nameko_entrypoints
    assert isinstance(entrypoint, EventHandler) and entrypoint.contract.type == "billing.paid"
