import sys
from tests.support import infra
from tests.bench import hop, raw_hop
n=int(sys.argv[2])
def once(name):
    v=infra.create_vhost()
    try:
        if name=="raw":
            return raw_hop.run(infra.amqp_uri(v), n)["rate"]
        h=[h for h in hop.HOPS if h.service==name][0]
        return hop.run(h, infra.amqp_uri(v), n)["rate"]
    finally:
        infra.delete_vhost(v)
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
    r=once("raw"); s=once(sys.argv[1])
    print(f"raw {r:.0f} {sys.argv[1]} {s:.0f} ratio {s/r:.2f}", flush=True)
