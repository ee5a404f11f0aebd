"""Identity's API payloads. Every text is bounded; passwords are taken, never given
back (an initial password or a code travels only in its notice)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.web.pagination import PageQuery, page_of

from .domain.accounts import STAFF_ROLES
from .domain.passwords import MAX_LENGTH

ROLES = STAFF_ROLES + ("learner",)
_no_nul = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL")


def _text(max_length: int, min_length: int = 1, **kwargs):
    return fields.Str(validate=[validate.Length(min=min_length, max=max_length), _no_nul], **kwargs)


class Login(Schema):
    login = _text(64, required=True, metadata={"description": "A learner's ID number, or a staff login name."})
    password = _text(MAX_LENGTH * 2, required=True)
    totp = fields.Str(validate=validate.Regexp(r"^[0-9]{6}$"),
                      metadata={"description": "The authenticator app's 6-digit code (staff with a second factor)."})
    role = fields.Str(validate=validate.OneOf(ROLES),
                      metadata={"description": "The role to act in, when the login holds several."})


class Session(Schema):
    access_token = fields.Str(metadata={"description": "Bearer token (Ed25519 JWT with kid); a setup token when "
                                                       "`setup` is not empty."})
    token_type = fields.Str()
    expires_in = fields.Int(metadata={"description": "Seconds the access token is valid."})
    refresh_token = fields.Str(allow_none=True, metadata={"description": "Spent by its use; none for a setup token."})
    refresh_expires_in = fields.Int(allow_none=True)
    account_id = fields.UUID()
    role = fields.Str()
    base_code = fields.Str(allow_none=True)
    setup = fields.List(fields.Str(), metadata={"description": "What must be done first: password (change the "
                                                               "initial one), totp (set up the second factor)."})


class RefreshRequest(Schema):
    refresh_token = _text(200, required=True)


class PasswordChange(Schema):
    current_password = _text(MAX_LENGTH * 2, required=True)
    new_password = _text(MAX_LENGTH * 2, required=True, metadata={
        "description": "10-128 characters, not the current or initial one, not containing the login name, "
                       "not a common password."})


class ResetRequest(Schema):
    login = _text(64, required=True)
    channel = fields.Str(validate=validate.OneOf(("sms", "email")),
                         metadata={"description": "Where the code goes, among the login's verified channels."})


class ResetConfirmation(Schema):
    login = _text(64, required=True)
    code = fields.Str(required=True, validate=validate.Regexp(r"^[0-9]{6}$"))
    new_password = _text(MAX_LENGTH * 2, required=True)


class TotpSetup(Schema):
    secret = fields.Str(metadata={"description": "Base32 secret, for an authenticator app."})
    uri = fields.Str(metadata={"description": "otpauth:// URI (as a QR code for the app)."})


class TotpConfirmation(Schema):
    code = fields.Str(required=True, validate=validate.Regexp(r"^[0-9]{6}$"))


class Me(Schema):
    account_id = fields.UUID()
    kind = fields.Str()
    login = fields.Str(metadata={"description": "The staff login name, or the learner's masked ID number."})
    display_name = fields.Str()
    role = fields.Str()
    base_code = fields.Str(allow_none=True)
    must_change_password = fields.Bool()
    totp_enabled = fields.Bool()
    verified_channels = fields.List(fields.Str())


class NewStaff(Schema):
    login_name = _text(40, min_length=3, required=True)
    display_name = _text(100, required=True)
    role = fields.Str(required=True, validate=validate.OneOf(STAFF_ROLES))
    base_code = _text(32, metadata={"description": "Required for a base operator, refused otherwise."})
    email = fields.Email(validate=validate.Length(max=254))
    mobile = fields.Str(validate=validate.Regexp(r"^1[3-9][0-9]{9}$"))

    @validates_schema
    def a_channel(self, data, **kwargs):
        if not data.get("email") and not data.get("mobile"):
            raise ValidationError("an e-mail address or a mobile number, for the initial password", "email")


class Grant(Schema):
    grant_id = fields.Int()
    role = fields.Str()
    base_code = fields.Str(allow_none=True)
    granted_by = fields.Str()
    granted_at = fields.AwareDateTime()
    removed_by = fields.Str(allow_none=True)
    removed_at = fields.AwareDateTime(allow_none=True)
    removal_reason = fields.Str(allow_none=True)


class NewGrant(Schema):
    role = fields.Str(required=True, validate=validate.OneOf(STAFF_ROLES))
    base_code = _text(32)


class GrantRemoval(Schema):
    reason = _text(500, required=True)


class StaffAccount(Schema):
    account_id = fields.UUID()
    login_name = fields.Str()
    display_name = fields.Str()
    email_masked = fields.Str(allow_none=True)
    mobile_masked = fields.Str(allow_none=True)
    must_change_password = fields.Bool()
    totp_enabled = fields.Bool()
    created_at = fields.AwareDateTime()
    created_by = fields.Str()
    grants = fields.List(fields.Nested(Grant))


class StaffQuery(PageQuery):
    base_code = _text(32)
    role = fields.Str(validate=validate.OneOf(STAFF_ROLES))


StaffList = page_of(StaffAccount, "StaffList")


class NoticeQuery(PageQuery):
    learner_id = fields.UUID()
    enrollment_id = fields.UUID()
    base_code = _text(32)
    state = fields.Str(validate=validate.OneOf(("pending", "delivered", "undeliverable")))
    kind = _text(40)


class Notice(Schema):
    notice_id = fields.UUID()
    kind = fields.Str()
    state = fields.Str(metadata={"description": "pending (being tried), delivered, or undeliverable."})
    channel = fields.Str(allow_none=True)
    address_masked = fields.Str(allow_none=True)
    attempts = fields.Int()
    last_error = fields.Str(allow_none=True)
    next_attempt_at = fields.AwareDateTime()
    created_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    learner_id = fields.UUID(allow_none=True)
    enrollment_id = fields.UUID(allow_none=True)
    base_code = fields.Str(allow_none=True)
    subject = fields.Str(metadata={"description": "Only in one's own notices."})
    text = fields.Str(metadata={"description": "Only in one's own notices; a password or code shows as ******."})


NoticeList = page_of(Notice, "NoticeList")


class AuditQuery(PageQuery):
    account_id = fields.UUID()
    kind = _text(40)
    client = _text(64)


class AuditEntry(Schema):
    entry_id = fields.Int()
    at = fields.AwareDateTime()
    kind = fields.Str()
    account_id = fields.UUID(allow_none=True)
    login = fields.Str(allow_none=True)
    client = fields.Str(allow_none=True)
    actor = fields.Str(allow_none=True)
    detail = fields.Str(allow_none=True)


AuditList = page_of(AuditEntry, "AuditList")


class Jwks(Schema):
    keys = fields.List(fields.Dict(), metadata={"description": "Ed25519 public keys (OKP JWKs with kid)."})
