import time, statistics
import config
from training import create_app
from bench.run import sign_in
app = create_app(config.Config, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/rollcall_main_1m", SECRET_KEY="bench", WTF_CSRF_ENABLED=False)
c = app.test_client()
for email, path in (("compliance-cbp@demo.test", "/reports/compliance"), ("admin@demo.test", "/reports/compliance")):
    sign_in(c, email)
    c.get(path).get_data()
    xs=[]
    for _ in range(20):
        t=time.perf_counter(); c.get(path).get_data(); xs.append((time.perf_counter()-t)*1000)
    print(email, path, "median %.0f p95 %.0f max %.0f" % (statistics.median(xs), sorted(xs)[18], max(xs)))
