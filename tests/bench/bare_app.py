"""A bare Werkzeug app on the eventlet WSGI server nameko's web server runs (the
same `eventlet.wsgi.Server`, nameko's HttpOnlyProtocol, no access log), answering
GET /health/live as a service does: the denominator of framework_cost.py.

    python -m tests.bench.bare_app <port>"""
import eventlet

eventlet.monkey_patch()  # noqa: E402

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from eventlet import wsgi  # noqa: E402
from nameko.web.server import HttpOnlyProtocol  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

BODY = json.dumps({"status": "live"})


@Request.application
def app(request):
    if request.path == "/health/live":
        return Response(BODY, content_type="application/json")
    return Response("not found", status=404)


def main():
    sock = eventlet.listen(("127.0.0.1", int(sys.argv[1])))
    server = wsgi.Server(sock, sock.getsockname(), app, protocol=HttpOnlyProtocol,
                         log=logging.getLogger("bare"), log_output=False)
    pool = eventlet.GreenPool(1000)
    while True:
        client, address = sock.accept()
        client.settimeout(server.socket_timeout)
        pool.spawn_n(server.process_request, [address, client, wsgi.STATE_IDLE])


if __name__ == "__main__":
    main()
