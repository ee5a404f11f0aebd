"""Events produced by the identity service. None carries a password, a hash, a code
or a message's text: only that something was opened or delivered."""
from marshmallow import fields, validate

from .fields import described, moment, optional, text, uuid
from .registry import EventData, contract

CHANNELS = ("sms", "email")


@contract("identity.login-opened", 1, producer="identity", consumers=())
class LoginOpened(EventData):
    """Payment opened the learner's platform login (one per learner, whatever the
    number of enrollments). Its initial password goes out as a notice; the first
    login with it may only change it."""
    account_id = uuid("The login account.")
    learner_id = uuid("The learner.")
    enrollment_id = uuid("The paid enrollment that opened it.")
    opened_at = moment("When the login was opened.")


@contract("identity.notice-delivered", 1, producer="identity", consumers=())
class NoticeDelivered(EventData):
    """A notice was accepted by its channel (the SMTP server or the SMS provider).
    Emitted once per notice."""
    notice_id = uuid("The notice.")
    kind = text("What it told (the template's name, e.g. login-opened, exam-graded).")
    channel = described(fields.Str, "sms or email.", validate=validate.OneOf(CHANNELS))
    learner_id = optional(fields.UUID, "The learner told, when a learner was.")
    account_id = optional(fields.UUID, "The account told, when it has one.")
    attempts = described(fields.Int, "Attempts it took (1 when the first went through).",
                         strict=True, validate=validate.Range(min=1))
    delivered_at = moment("When the channel accepted it.")


@contract("identity.notice-undeliverable", 1, producer="identity", consumers=())
class NoticeUndeliverable(EventData):
    """A notice could not be delivered: its recipient has no usable channel, or the
    channel kept failing until the retries ran out. Administrators and the learner's
    base see it in the notices list and act (call the learner)."""
    notice_id = uuid("The notice.")
    kind = text("What it would have told.")
    channel = optional(fields.Str, "sms or email, or absent when there was no channel.")
    learner_id = optional(fields.UUID, "The learner, when a learner was to be told.")
    account_id = optional(fields.UUID, "The account, when it has one.")
    attempts = described(fields.Int, "Attempts made (0 when there was no channel).", strict=True,
                         validate=validate.Range(min=0))
    reason = text("Why (the channel's last error, or no channel).")
    given_up_at = moment("When it was given up.")
