"""Consumer alone (relay off), then the relay alone on the filled outbox."""
import json, subprocess, sys, tempfile, time
from pathlib import Path
from tests.support import infra
from tests.bench import hop
from shared.messaging import topology
from shared.persistence import migrations
from shared.persistence.engine import make_engine
n=int(sys.argv[2])
h=[h for h in hop.HOPS if h.service==sys.argv[1]][0]
v=infra.create_vhost(); uri=infra.amqp_uri(v)
with tempfile.TemporaryDirectory() as tmp:
    wd=Path(tmp); db=f"sqlite:///{wd}/{h.service}.sqlite3"
    e=make_engine(db); migrations.upgrade(e, f"services.{h.service}"); e.dispose()
    b=hop.Broker(uri)
    b.declare(h.outgoing); b.ch.queue_purge(topology.service_queue(h.service))
    if h.prepare:
        b.publish([h.prepare(i) for i in range(n)])
    b.publish([h.make(i) for i in range(n)])
    cfg={"AMQP_URI": uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "DATABASE_URL": db,
         "JWT_PUBLIC_KEY": hop.BENCH_PUBLIC_KEY, **hop.TEST_SETTINGS, "OUTBOX_RELAY": "false", "EVENT_BATCH_SIZE": sys.argv[3], "EVENT_PREFETCH": str(2*int(sys.argv[3]))}
    (wd/"c.json").write_text(json.dumps(cfg))
    p=subprocess.Popen([sys.executable,"-m","tests.bench.serve",hop.SERVICE_CLASSES[h.service],str(wd/"c.json")],stdin=subprocess.PIPE,stdout=subprocess.PIPE,text=True,stderr=open(wd/"s.log","w"))
    t0=float(p.stdout.readline().split()[1])
    import sqlite3
    while True:
        c=sqlite3.connect(f"{wd}/{h.service}.sqlite3"); k=c.execute("select count(*) from outbox").fetchone()[0]; c.close()
        if k>=n*(1 if not h.prepare or h.service!="certificate" else 1): break
        time.sleep(0.05)
    t1=time.time()
    st=open(f"/proc/{p.pid}/stat").read().split(") ")[1].split()
    cpu=(int(st[11])+int(st[12]))/100
    print(f"consumer alone: {n/(t1-t0):.0f}/s, process cpu {cpu:.2f}s incl. start", flush=True)
    p.stdin.close(); p.wait()
    t2=time.time()
    r=subprocess.Popen([sys.executable,"-m","shared.messaging.relay_process","--config",str(wd/"c.json"),h.service],stderr=open(wd/"r.log","w"))
    last=b.drain_sink(n)
    st=open(f"/proc/{r.pid}/stat").read().split(") ")[1].split()
    cpu=(int(st[11])+int(st[12]))/100
    print(f"relay alone: {n/(last-t2):.0f}/s (incl. start), process cpu {cpu:.2f}s incl. start", flush=True)
    r.terminate(); r.wait()
    b.close()
infra.delete_vhost(v)
