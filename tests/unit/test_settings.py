"""Settings checked at start (architecture.md, "Faults and edges"): every missing one
named; outside the development profile, no secret that ships in the repository."""
from shared import settings
from shared.settings import ID_HASH_KEY, QR_PROVIDER_SECRETS, problems

COMMON = (settings.AMQP_URI, settings.DATABASE_URL)
GOOD = {"AMQP_URI": "amqp://cea:s3cret-broker@rabbit:5672/", "DATABASE_URL": "sqlite:///x.db",
        "JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----", "ID_HASH_KEY": "k" * 32,
        "QR_PROVIDER_SECRETS": "wechat_pay:w-123,alipay:a-456"}
OWN = COMMON + (ID_HASH_KEY, QR_PROVIDER_SECRETS)


def test_production_is_the_default_and_a_complete_configuration_starts():
    assert problems(OWN, GOOD) == ("production", [])


def test_every_missing_setting_is_named_at_once():
    config = {**GOOD, "ID_HASH_KEY": None, "QR_PROVIDER_SECRETS": "", "JWT_PUBLIC_KEY": None,
              "JWT_PUBLIC_KEY_FILE": ""}
    _, found = problems(OWN, config)
    text = " | ".join(found)
    assert len(found) == 3
    assert "ID_HASH_KEY is missing (set CEA_ID_HASH_KEY)" in text
    assert "QR_PROVIDER_SECRETS is missing (set BILLING_QR_PROVIDER_SECRETS)" in text
    assert "JWT_PUBLIC_KEY_FILE is missing" in text


def test_development_secrets_refuse_production_and_are_accepted_in_development():
    dev = {**GOOD, "AMQP_URI": "amqp://guest:guest@localhost:5672/",
           "DATABASE_URL": "postgresql://cea:cea@postgres/billing",
           "ID_HASH_KEY": "dev-only-id-hash-key-do-not-use-in-production",
           "QR_PROVIDER_SECRETS": "wechat_pay:dev-wechat-secret,alipay:a-456"}
    profile, found = problems(OWN, dev)
    assert profile == "production"
    assert [f.split(" ")[0] for f in found] == ["AMQP_URI", "DATABASE_URL", "ID_HASH_KEY", "QR_PROVIDER_SECRETS"]
    assert all("development value" in f for f in found)
    assert problems(OWN, {**dev, "PROFILE": "development"}) == ("development", [])


def test_an_empty_provider_secret_or_a_malformed_pair_is_refused():
    _, found = problems(OWN, {**GOOD, "QR_PROVIDER_SECRETS": "wechat_pay:,alipay:a-456"})
    assert found == ["QR_PROVIDER_SECRETS (BILLING_QR_PROVIDER_SECRETS) has an empty secret"]
    _, found = problems(OWN, {**GOOD, "QR_PROVIDER_SECRETS": "wechat_pay"})
    assert "provider:secret pairs" in found[0]


def test_an_unknown_profile_and_bad_numbers_are_named():
    hops = settings.TRUSTED_PROXY_HOPS
    _, found = problems(OWN + (hops,), {**GOOD, "PROFILE": "prod", "TRUSTED_PROXY_HOPS": "many"})
    assert found == ["PROFILE (CEA_PROFILE) must be development or production, not 'prod'",
                     "TRUSTED_PROXY_HOPS (CEA_TRUSTED_PROXY_HOPS) must be a whole number, not 'many'"]


def test_token_key_files_must_exist(tmp_path):
    _, found = problems(OWN, {**GOOD, "JWT_PUBLIC_KEY": None, "JWT_PUBLIC_KEY_FILE": str(tmp_path / "no.pem")})
    assert found and "names no readable file" in found[0]


def test_identity_s_published_keys_or_the_issuer_s_own_keys_verify_without_key_files():
    config = {**GOOD, "JWT_PUBLIC_KEY": None, "JWT_PUBLIC_KEY_FILE": ""}
    assert problems(OWN, {**config, "JWKS_URL": "http://identity:8006/identity/jwks.json"}) == ("production", [])
    assert problems(OWN, config, issues_tokens=True) == ("production", [])
    _, found = problems(OWN, {**config, "JWKS_URL": "identity:8006/jwks"})
    assert found == ["JWKS_URL (JWKS_URL) must be an http(s) URL, not 'identity:8006/jwks'"]


def test_the_study_clock_allowance_is_lifted_only_in_the_development_profile():
    from services.learning.service import LearningService
    own = COMMON + tuple(LearningService.required_settings)
    assert problems(own, {**GOOD, "STUDY_CLOCK_ALLOWANCE_MINUTES": "2"}) == ("production", [])
    _, found = problems(own, {**GOOD, "STUDY_CLOCK_ALLOWANCE_MINUTES": "100000"})
    assert found == ["STUDY_CLOCK_ALLOWANCE_MINUTES (LEARNING_STUDY_CLOCK_ALLOWANCE_MINUTES) must be at most "
                     "10 minutes outside the development profile (CEA_PROFILE=development)"]
    lifted = {**GOOD, "PROFILE": "development", "STUDY_CLOCK_ALLOWANCE_MINUTES": "100000"}
    assert problems(own, lifted) == ("development", [])
    _, found = problems(own, {**lifted, "STUDY_IDLE_LIMIT_MINUTES": "0"})
    assert found == ["STUDY_IDLE_LIMIT_MINUTES (LEARNING_STUDY_IDLE_LIMIT_MINUTES) must be between 1 and 60, not 0"]
