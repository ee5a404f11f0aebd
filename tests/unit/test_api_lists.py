"""docs/api-conventions.md, "Lists": one pagination convention on every service, read
from the OpenAPI documents the services serve (built here without a broker)."""
import pytest
from nameko.containers import ServiceContainer

from shared.web import openapi
from tests.support.services import SERVICE_CLASSES, load_class

PAGE = {"items", "total", "limit", "offset"}
# A resource's own parts come whole with it: they are not lists of the collection.
PARTS = {"TrainingBase": {"history"}, "Enrollment": {"history"}, "BulkUpload": {"results"},
         "ImportResult": {"results"},
         "Invoices": {"invoices"}, "PriceSchedule": {"entries"},
         "PublishedCalendar": {"months"}, "Account": {"courses", "extensions"}, "Catalog": {"courses"},
         "StudyResult": {"refusals"}, "LiveSession": {"refusals"},
         "BankQuestion": {"options"}, "QuestionRevisions": {"revisions"}, "CandidatePaper": {"questions"},
         "KeySet": {"keys"}, "Verification": {"history"},
         # identity: the JWKS format (RFC 7517), a staff account's grants, a login's own parts
         "Jwks": {"keys"}, "StaffAccount": {"grants"}, "Me": {"verified_channels"}, "Session": {"setup"}}


def _responses(name):
    container = ServiceContainer(load_class(SERVICE_CLASSES[name]), {"AMQP_URI": "memory://"})
    spec = openapi.build(container)
    schemas = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, answer in op["responses"].items():
                ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if status.startswith("2") and ref:
                    schema = ref.rsplit("/", 1)[-1]
                    yield f"{method.upper()} {path}", op, schema, schemas[schema].get("properties", {})


@pytest.mark.parametrize("name", list(SERVICE_CLASSES))
def test_every_list_is_a_page_with_limit_offset_and_total(name):
    lists = 0
    for operation, op, schema, properties in _responses(name):
        arrays = {k for k, v in properties.items() if v.get("type") == "array"}
        if "items" in arrays:
            lists += 1
            assert PAGE <= set(properties), f"{operation} answers {schema} without {PAGE - set(properties)}"
            query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            assert {"limit", "offset"} <= query, f"{operation} takes no limit/offset"
        else:
            assert arrays <= PARTS.get(schema, set()), f"{operation}: {schema}.{arrays} is a list not paged"
    assert lists, f"{name} has no list"


@pytest.mark.parametrize("name", list(SERVICE_CLASSES))
def test_the_operator_role_reaches_journeys_by_id_and_no_personal_data(name):
    """The SRE's token opens what operations need and nothing that holds a person
    (queues and dead letters are on the broker, read with its own credentials)."""
    container = ServiceContainer(load_class(SERVICE_CLASSES[name]), {"AMQP_URI": "memory://"})
    spec = openapi.build(container)
    admitted = {f"{method.upper()} {path}" for path, operations in spec["paths"].items()
                for method, op in operations.items() if "operator" in op.get("x-roles", [])}
    assert admitted == {f"GET /{name}/journeys/{{correlation_id}}"}
