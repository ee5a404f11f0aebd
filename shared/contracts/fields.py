"""Field types shared by the event contracts, so that every event spells money,
time, levels and identities the same way."""
from marshmallow import fields, validate

LEVELS = ("L4", "L3")


def _machine_made(field_cls, kwargs: dict) -> dict:
    """Events are written by programs: an integer is a JSON integer (not "5", not 5.0)
    and a boolean true or false, as the compiled decoders read them too."""
    if issubclass(field_cls, fields.Int):
        kwargs.setdefault("strict", True)
    if issubclass(field_cls, fields.Bool):
        kwargs.setdefault("truthy", {True})
        kwargs.setdefault("falsy", {False})
    return kwargs


def described(field_cls, description, **kwargs):
    return field_cls(required=True, metadata={"description": description}, **_machine_made(field_cls, kwargs))


def optional(field_cls, description, **kwargs):
    """A field added to a contract after its first events were emitted: consumers
    find it absent (None) in the older ones."""
    return field_cls(required=False, load_default=None, allow_none=True,
                     metadata={"description": description}, **_machine_made(field_cls, kwargs))


def level(description="Certificate level: L4 (四级) or L3 (三级)."):
    return described(fields.Str, description, validate=validate.OneOf(LEVELS))


def fen(description):
    """Money in integer fen (1 CNY = 100 fen); never a float."""
    return described(fields.Int, description, strict=True, validate=validate.Range(min=0))


def moment(description):
    """A timezone-aware instant, ISO 8601."""
    return described(fields.AwareDateTime, description)


def day(description):
    """A calendar date in Asia/Shanghai, ISO 8601."""
    return described(fields.Date, description)


def uuid(description):
    return described(fields.UUID, description)


def text(description, **kwargs):
    return described(fields.Str, description, validate=validate.Length(min=1), **kwargs)
