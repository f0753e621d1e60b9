import cProfile, pstats, time, statistics
import config
from training import create_app
from bench.run import sign_in
from sqlalchemy import event
app = create_app(config.Config, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/rollcall_main_1m", SECRET_KEY="bench", WTF_CSRF_ENABLED=False)
c = app.test_client()
sign_in(c, "officer-0500000@demo.test") if False else None
from training.db import unit_of_work
from training.people.models import User
from sqlalchemy import select
with unit_of_work(app) as s:
    email = s.scalar(select(User.email).where(User.role=="officer", User.id==500000))
sign_in(c, email)
for _ in range(5): c.get("/").get_data()
xs=[]
for _ in range(30):
    t=time.perf_counter(); c.get("/").get_data(); xs.append((time.perf_counter()-t)*1000)
print("median %.1f p95 %.1f" % (statistics.median(xs), sorted(xs)[28]))
stmts=[]
eng=app.extensions["db_engine"]
@event.listens_for(eng, "before_cursor_execute")
def b(conn, cur, st, p, ctx, many): conn.info["t"]=time.perf_counter()
@event.listens_for(eng, "after_cursor_execute")
def a(conn, cur, st, p, ctx, many): stmts.append(((time.perf_counter()-conn.info["t"])*1000, st[:90]))
t=time.perf_counter(); c.get("/").get_data(); total=(time.perf_counter()-t)*1000
print("total %.1f db %.1f" % (total, sum(x for x,_ in stmts)))
for x, st in stmts: print("%.2f %s" % (x, st.replace("\n"," ")))
p = cProfile.Profile(); p.enable()
for _ in range(20): c.get("/").get_data()
p.disable()
pstats.Stats(p).sort_stats("tottime").print_stats(25)
