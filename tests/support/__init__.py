"""What the tests share, in one place; the fixtures are in tests/conftest.py.

No test module imports another test module or conftest: what two of them use lives here.

- factories: course content on disk, agencies, units, accounts and completions
- pages: what a person does through the test client (sign in, open the lessons, answer a quiz)
- dates: dates written as text, and an officer's today
- views: every view of the app and the roles that may reach it
- roster_world, fuzz: the small organisations the roster, dashboard and property-based tests use
- databases: the suite's database, databases of a test's own that commit for real, a PostgreSQL server of a test's own
- mail: loopback SMTP servers and what they received
- redis_space: the test Redis database, a key prefix for each test
- net: loopback ports (bench/ uses it too)
- servers: the site under gunicorn, as production serves it
- fault_app: the site with a fault the fault tests set off
- waiting: waiting for another thread or process
- needs: a test whose program or service is missing is skipped, except under CI
- paths: where the project is
"""
