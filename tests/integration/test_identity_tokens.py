"""The domain services verify identity's tokens against its published keys (JWKS),
fetched and cached, through a key rotation: the old key verifies until it is retired,
a new key verifies as soon as it signs, and an unreachable identity costs nothing
while its keys are cached."""
import jwt

from shared.tokens import generate_key_pair
from tests.support.identity_flow import log_in, open_login
from tests.support.processes import free_port
from tests.support.services import Client
from tests.support.wait import wait_for

GOOD = "Xuexi-Pingtai-2026!"


def _learner_token(services, learner, password) -> str:
    return log_in(services.anonymous("identity"), learner.id_number, password).json()["access_token"]


def test_services_verify_identity_tokens_by_its_published_keys_through_a_rotation(services, bus):
    key_a, key_b = generate_key_pair()[0].decode(), generate_key_pair()[0].decode()
    address = f"127.0.0.1:{free_port()}"
    services.start("identity", TOKEN_SIGNING_KEYS=key_a, WEB_SERVER_ADDRESS=address)
    jwks_url = f"http://{address}/identity/jwks.json"
    services.start("learning", JWT_PUBLIC_KEY="", JWKS_URL=jwks_url, JWKS_MIN_REFETCH_SECONDS=0,
                   JWKS_MAX_AGE_SECONDS=0.5)
    learner = open_login(services, bus)
    setup = log_in(services.anonymous("identity"), learner.id_number, learner.password).json()
    Client(services.url("identity"), setup["access_token"]).put(
        "/identity/me/password", {"current_password": learner.password, "new_password": GOOD})
    old = _learner_token(services, learner, GOOD)
    published = services.anonymous("identity").get("/identity/jwks.json").json()["keys"]
    assert [k["kid"] for k in published] == [jwt.get_unverified_header(old)["kid"]]
    assert {"kty", "crv", "x", "kid", "alg", "use"} == set(published[0]) and "d" not in published[0]

    learning = lambda token: Client(services.url("learning"), token).get("/learning/catalog").status_code  # noqa: E731
    assert learning(old) == 200
    assert learning(services.client("learning", "learner").session.headers["Authorization"][7:]) == 401  # no dev key here
    assert learning(setup["access_token"]) == 401  # a setup token is for identity alone

    # Rotation: the new key signs, the old one is still published; both tokens verify.
    services.stop("identity")
    services.start("identity", TOKEN_SIGNING_KEYS=key_b + key_a, WEB_SERVER_ADDRESS=address)
    new = _learner_token(services, learner, GOOD)
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert learning(new) == 200 and learning(old) == 200

    # The old key retired (its tokens expired by then): it no longer verifies anywhere.
    services.stop("identity")
    services.start("identity", TOKEN_SIGNING_KEYS=key_b, WEB_SERVER_ADDRESS=address)
    wait_for(lambda: learning(old) == 401, message="the retired key still verifies")
    assert learning(new) == 200

    # Identity away: the cached keys go on verifying; a service that never fetched them answers 503.
    services.stop("identity")
    assert learning(new) == 200
    services.stop("learning")
    services.start("learning", JWT_PUBLIC_KEY="", JWKS_URL=jwks_url)
    refused = Client(services.url("learning"), new).get("/learning/catalog")
    assert refused.status_code == 503 and refused.json()["type"] == "/problems/unavailable"
